// Makes the share mails of one message with Postern's own code, for the postern-combine tests
// (tests/cli/test_postern_combine*.py):
//
//   share-mail-driver MESSAGE OUT_DIR SCHEME K N [SEED_HEX]     the postern format
//   share-mail-driver MESSAGE OUT_DIR privmail N [SEED_HEX]     the privmail format
//
// writes OUT_DIR/share-<i>.eml for i = 1..N and prints the share-group id (postern; SCHEME xor or
// shamir) or the UID (privmail). In the postern format the message streams through
// ShareMailWriter in 1000-byte pieces, as delivery would feed it; in the privmail format it goes
// through check_privmail_shape and write_privmail_share_mail, and a message that format cannot
// carry exits 3 with the refusal on stderr. Without SEED_HEX (64 hex digits) the seed is random.
#include "shares/privmail_message_shape.hpp"
#include "shares/privmail_share_mail.hpp"
#include "shares/seed.hpp"
#include "shares/share_group_id.hpp"
#include "shares/share_mail_writer.hpp"

#include <cstdint>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>

namespace {

using namespace postern::shares;

constexpr int kRefused = 3;

Seed parse_seed(const std::string& hex) {
  Seed seed;
  if (hex.size() != 2 * seed.size()) throw std::invalid_argument("SEED_HEX must be 64 hex digits");
  for (std::size_t i = 0; i < seed.size(); ++i) {
    seed[i] = static_cast<std::uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  }
  return seed;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  if (!out) throw std::runtime_error("cannot write " + path);
}

int write_postern_shares(const std::string& message, const std::string& out_dir, Scheme scheme, unsigned k,
                         unsigned n, const Seed& seed) {
  const SharingParams params{scheme, k, n};
  const ShareGroupId id = derive_group_id(seed);
  for (unsigned index = 1; index <= params.count; ++index) {
    const std::string i = std::to_string(index);
    ShareMailFields fields{"sender@example.com", "dest" + i + "@provider" + i + ".example",
                           "Tue, 02 Jan 2024 10:00:00 +0000", "<share-" + id.hex() + "-" + i + "@postern.test>",
                           ShareMetadata{id, index, params}};
    ShareMailWriter writer(fields, message.size(), seed);
    std::string mail;
    for (std::size_t pos = 0; pos < message.size(); pos += 1000) mail += writer.write(std::string_view(message).substr(pos, 1000));
    mail += writer.finish();
    if (mail.size() != writer.mail_size()) throw std::logic_error("mail_size() does not match the mail");
    write_file(out_dir + "/share-" + i + ".eml", mail);
  }
  std::cout << id.hex() << "\n";
  return 0;
}

int write_privmail_shares(const std::string& message, const std::string& out_dir, unsigned n, const Seed& seed) {
  const PrivmailShape shape = check_privmail_shape(message);
  if (!shape.content) {
    std::cerr << "refused: " << shape.problem << "\n";
    return kRefused;
  }
  for (unsigned index = 1; index <= n; ++index) {
    write_file(out_dir + "/share-" + std::to_string(index) + ".eml", write_privmail_share_mail(*shape.content, index, n, seed));
  }
  std::cout << privmail_uid(seed) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const bool privmail = argc >= 4 && std::string(argv[3]) == "privmail";
  if (privmail ? argc != 5 && argc != 6 : argc != 6 && argc != 7) {
    std::cerr << "usage: share-mail-driver MESSAGE OUT_DIR SCHEME K N [SEED_HEX]\n"
                 "       share-mail-driver MESSAGE OUT_DIR privmail N [SEED_HEX]\n";
    return 2;
  }
  try {
    std::ifstream in(argv[1], std::ios::binary);
    if (!in) throw std::runtime_error(std::string("cannot open ") + argv[1]);
    const std::string message((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const int seed_arg = privmail ? 5 : 6;
    const Seed seed = argc == seed_arg + 1 ? parse_seed(argv[seed_arg]) : random_seed();
    if (privmail) return write_privmail_shares(message, argv[2], static_cast<unsigned>(std::stoul(argv[4])), seed);

    const std::optional<Scheme> scheme = parse_scheme(argv[3]);
    if (!scheme) throw std::invalid_argument("SCHEME must be xor, shamir or privmail");
    return write_postern_shares(message, argv[2], *scheme, static_cast<unsigned>(std::stoul(argv[4])),
                                static_cast<unsigned>(std::stoul(argv[5])), seed);
  } catch (const std::exception& error) {
    std::cerr << "share-mail-driver: " << error.what() << "\n";
    return 1;
  }
}

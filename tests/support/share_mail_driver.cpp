// Makes the share mails of one message with Postern's own code, for the postern-combine tests
// (tests/cli/test_postern_combine.py):
//
//   share-mail-driver MESSAGE OUT_DIR SCHEME K N [SEED_HEX]
//
// writes OUT_DIR/share-<i>.eml for i = 1..N (SCHEME xor or shamir) and prints the share-group
// id. The message streams through ShareMailWriter in 1000-byte pieces, as delivery would feed it.
// Without SEED_HEX (64 hex digits) the seed is random.
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

Seed parse_seed(const std::string& hex) {
  Seed seed;
  if (hex.size() != 2 * seed.size()) throw std::invalid_argument("SEED_HEX must be 64 hex digits");
  for (std::size_t i = 0; i < seed.size(); ++i) {
    seed[i] = static_cast<std::uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  }
  return seed;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6 && argc != 7) {
    std::cerr << "usage: share-mail-driver MESSAGE OUT_DIR SCHEME K N [SEED_HEX]\n";
    return 2;
  }
  try {
    std::ifstream in(argv[1], std::ios::binary);
    if (!in) throw std::runtime_error(std::string("cannot open ") + argv[1]);
    const std::string message((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::optional<Scheme> scheme = parse_scheme(argv[3]);
    if (!scheme) throw std::invalid_argument("SCHEME must be xor or shamir");
    const SharingParams params{*scheme, static_cast<unsigned>(std::stoul(argv[4])),
                               static_cast<unsigned>(std::stoul(argv[5]))};
    const Seed seed = argc == 7 ? parse_seed(argv[6]) : random_seed();
    const ShareGroupId id = derive_group_id(seed);

    for (unsigned index = 1; index <= params.count; ++index) {
      const std::string n = std::to_string(index);
      ShareMailFields fields{"sender@example.com", "dest" + n + "@provider" + n + ".example",
                             "Tue, 02 Jan 2024 10:00:00 +0000", "<share-" + id.hex() + "-" + n + "@postern.test>",
                             ShareMetadata{id, index, params}};
      ShareMailWriter writer(fields, message.size(), seed);
      std::string mail;
      for (std::size_t pos = 0; pos < message.size(); pos += 1000) mail += writer.write(std::string_view(message).substr(pos, 1000));
      mail += writer.finish();
      if (mail.size() != writer.mail_size()) throw std::logic_error("mail_size() does not match the mail");
      std::ofstream out(std::string(argv[2]) + "/share-" + n + ".eml", std::ios::binary);
      out << mail;
      if (!out) throw std::runtime_error("cannot write share " + n);
    }
    std::cout << id.hex() << "\n";
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "share-mail-driver: " << error.what() << "\n";
    return 1;
  }
}

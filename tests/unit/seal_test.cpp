#include <gtest/gtest.h>

#include <sodium.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "postern/schema/seal.hpp"

namespace postern::schema {
namespace {

SealKey key(const std::string& id, unsigned char fill) {
  SealKey k;
  k.id = id;
  k.bytes.fill(fill);
  return k;
}

const SealKeys kKeys{{key("2026-12", 1), key("2026-06", 2)}};
const std::string kId = "0123456789ABCDEFGHJK";

// A message of `chunks` chunks sealed under the first key.
std::vector<std::string> sealed_message(const std::string& id, int chunks) {
  std::vector<std::string> out;
  for (int seq = 0; seq < chunks; ++seq) {
    out.push_back(seal_chunk(kKeys.sealing(), id, seq, seq == chunks - 1, "chunk " + std::to_string(seq)));
  }
  return out;
}

// Opens a message of chunks.size() chunks, as a reader does that knows from the stored size how
// many there are (and so which one is the last).
std::string open_all(const std::vector<std::string>& chunks, const std::string& id = kId,
                     const SealKeys& keys = kKeys) {
  std::string all;
  for (std::size_t seq = 0; seq < chunks.size(); ++seq) {
    all += open_chunk(keys, id, static_cast<std::int64_t>(seq), seq + 1 == chunks.size(), chunks[seq]);
  }
  return all;
}

TEST(Seal, ChunksRoundTrip) {
  EXPECT_EQ(open_all(sealed_message(kId, 3)), "chunk 0chunk 1chunk 2");
  EXPECT_EQ(open_all(sealed_message(kId, 1)), "chunk 0");
}

TEST(Seal, EmptyAndLargeValuesRoundTrip) {
  const std::string big(256 * 1024, 'x');
  EXPECT_EQ(open_chunk(kKeys, kId, 0, false, seal_chunk(kKeys.sealing(), kId, 0, false, big)), big);
  EXPECT_EQ(open_chunk(kKeys, kId, 1, true, seal_chunk(kKeys.sealing(), kId, 1, true, "")), "");
}

TEST(Seal, CiphertextHidesThePlaintextAndNeverRepeats) {
  const std::string plain = "Subject: merger plans\r\n\r\nsecret body\r\n";
  const std::string a = seal_chunk(kKeys.sealing(), kId, 0, true, plain);
  const std::string b = seal_chunk(kKeys.sealing(), kId, 0, true, plain);
  EXPECT_EQ(a.find("merger"), std::string::npos);
  EXPECT_NE(a, b);  // a fresh nonce each time
  EXPECT_EQ(a.size(), 1 + 1 + 7 + 24 + plain.size() + 16);
  EXPECT_EQ(sealed_key_id(a), "2026-12");
}

TEST(Seal, TamperedCiphertextIsRefused) {
  auto chunks = sealed_message(kId, 2);
  chunks[1][chunks[1].size() - 20] ^= 0x01;
  EXPECT_THROW(open_all(chunks), SealBroken);
  auto tag = sealed_message(kId, 1);
  tag[0].back() ^= 0x80;
  EXPECT_THROW(open_all(tag), SealBroken);
}

TEST(Seal, SwappedChunksAreRefused) {
  auto chunks = sealed_message(kId, 3);
  std::swap(chunks[0], chunks[1]);
  EXPECT_THROW(open_all(chunks), SealBroken);
}

TEST(Seal, AChunkOfAnotherMessageIsRefused) {
  auto chunks = sealed_message(kId, 2);
  chunks[0] = sealed_message("ANOTHERMESSAGEID0000", 2)[0];
  EXPECT_THROW(open_all(chunks), SealBroken);
  EXPECT_THROW(open_all(sealed_message(kId, 2), "ANOTHERMESSAGEID0000"), SealBroken);
}

// Cut off at the end (its size lowered to match): the new last chunk was sealed as not the last.
TEST(Seal, ADroppedLastChunkIsRefused) {
  auto chunks = sealed_message(kId, 3);
  chunks.pop_back();
  try {
    open_all(chunks);
    FAIL() << "a message without its last chunk opened";
  } catch (const SealBroken& e) {
    EXPECT_EQ(std::string(e.what()),
              "chunk 1 of message " + kId + " does not open: tampered with, out of place, or from another message");
  }
}

// Made longer (its size raised to match): the old last chunk was sealed as the last.
TEST(Seal, AChunkAfterTheLastIsRefused) {
  auto chunks = sealed_message(kId, 2);
  chunks.push_back(seal_chunk(kKeys.sealing(), kId, 2, true, "more"));
  EXPECT_THROW(open_all(chunks), SealBroken);
}

TEST(Seal, AMissingKeyIsNotABrokenValue) {
  const std::string sealed = seal_chunk(key("2025-01", 9), kId, 0, true, "x");
  try {
    open_chunk(kKeys, kId, 0, true, sealed);
    FAIL() << "opened without its key";
  } catch (const SealKeyMissing& e) {
    EXPECT_EQ(e.key_id, "2025-01");
    EXPECT_EQ(std::string(e.what()),
              "sealed under seal key 2025-01, which is not among the seal keys here (queue.seal_key_files)");
  }
}

TEST(Seal, AWrongKeyUnderTheSameIdIsRefused) {
  const SealKeys impostor{{key("2026-12", 7)}};
  EXPECT_THROW(open_all(sealed_message(kId, 1), kId, impostor), SealBroken);
}

TEST(Seal, EveryKeyOpensTheFirstSeals) {
  const SealKeys old_only{{key("2026-06", 2)}};
  const std::string sealed = seal_chunk(old_only.sealing(), kId, 0, true, "old");
  EXPECT_EQ(open_all({sealed}), "old");  // kKeys has 2026-06 second
}

TEST(Seal, FieldsAreBoundToMessageAndName) {
  const std::string seed(32, '\x42');
  const std::string sealed = seal_field(kKeys.sealing(), kId, "share_seed", seed);
  EXPECT_EQ(open_field(kKeys, kId, "share_seed", sealed), seed);
  EXPECT_THROW(open_field(kKeys, "ANOTHERMESSAGEID0000", "share_seed", sealed), SealBroken);
  EXPECT_THROW(open_field(kKeys, kId, "other", sealed), SealBroken);
  // A chunk is not a field of the same message, nor the other way round.
  EXPECT_THROW(open_field(kKeys, kId, "share_seed", seal_chunk(kKeys.sealing(), kId, 0, true, seed)), SealBroken);
}

TEST(Seal, GarbageIsNotASealedValue) {
  for (const std::string& garbage : {std::string(), std::string("plain text"), std::string("\x01\x00", 2),
                                     std::string("\x01\x05" "ab", 4), std::string("\x01\x02" "a!", 4) + std::string(40, 'x')}) {
    SCOPED_TRACE(garbage);
    EXPECT_THROW(sealed_key_id(garbage), SealBroken);
    EXPECT_THROW(open_chunk(kKeys, kId, 0, true, garbage), SealBroken);
  }
}

TEST(Seal, KeyFilesAreParsed) {
  std::string encoded(sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL), '\0');
  const SealKey k = key("k1", 0xAB);
  sodium_bin2base64(encoded.data(), encoded.size(), k.bytes.data(), k.bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  encoded.resize(encoded.size() - 1);  // its terminating NUL
  const SealKey parsed = parse_seal_key("k1:" + encoded + "\n", "key.txt");
  EXPECT_EQ(parsed.id, "k1");
  EXPECT_EQ(parsed.bytes, k.bytes);
}

TEST(Seal, KeyFileErrorsNameTheFileNotTheKey) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"no colon here", "key.txt: expected one line \"<key id>:<base64 of 32 bytes>\""},
      {":AAAA", "key.txt: the key id must be 1 to 64 letters, digits, '.', '_' or '-'"},
      {"bad id!:AAAA", "key.txt: the key id must be 1 to 64 letters, digits, '.', '_' or '-'"},
      {"k1:c2hvcnQ=", "key.txt: the key of k1 is not 32 bytes in base64"},
      {"k1:not base64 at all", "key.txt: the key of k1 is not 32 bytes in base64"},
  };
  for (const auto& [text, error] : cases) {
    SCOPED_TRACE(text);
    try {
      parse_seal_key(text, "key.txt");
      FAIL() << "parsed";
    } catch (const SealKeyFileError& e) {
      EXPECT_EQ(std::string(e.what()), error);
    }
  }
  EXPECT_THROW(SealKeys({key("same", 1), key("same", 2)}), SealKeyFileError);
}

TEST(Seal, KeyFilesAreLoadedInOrder) {
  const auto dir = std::filesystem::temp_directory_path() / ("postern-seal-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  };
  const std::string zeros = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";  // 32 zero bytes
  const SealKeys keys = load_seal_keys({write("new.key", "new:" + zeros + "\n"), write("old.key", "old:" + zeros)});
  EXPECT_EQ(keys.sealing().id, "new");
  EXPECT_NE(keys.find("old"), nullptr);
  EXPECT_THROW(load_seal_keys({(dir / "missing.key").string()}), SealKeyFileError);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace postern::schema

#include "server/smtp/data_reader.hpp"

#include <algorithm>
#include <utility>

namespace smtp {
namespace {

// Bytes that need the state machine; anything else inside a line is plain text.
constexpr std::string_view kSpecialBytes{"\r\n\0", 3};

}  // namespace

DataReader::DataReader(std::size_t max_message_size, std::size_t piece_size)
    : max_message_size_(max_message_size), piece_size_(std::max<std::size_t>(piece_size, 2)) {}

std::size_t DataReader::consume(std::string_view input) {
  std::size_t pos = 0;
  while (pos < input.size() && state_ != State::Done && !piece_ready()) {
    if (refused()) piece_.clear();  // nothing of a refused message is handed over
    if (state_ == State::Text) {
      // Fast path: take a run of plain text at once; messages are mostly that. The run leaves
      // room for a CRLF, so a piece never exceeds piece_size_.
      std::size_t end = input.find_first_of(kSpecialBytes, pos);
      if (end == std::string_view::npos) end = input.size();
      end = std::min(end, pos + (piece_size_ - piece_.size() - 1));
      if (end > pos) {
        const std::string_view run = input.substr(pos, end - pos);
        count_line_bytes(run.size());
        store(run);
        pos = end;
        continue;
      }
    }
    step(input[pos++]);
  }
  return pos;
}

std::string DataReader::take_piece() {
  if (refused()) piece_.clear();
  return std::exchange(piece_, {});
}

DataReader::Verdict DataReader::verdict() const {
  if (bad_line_ending_) return Verdict::BadLineEnding;
  if (line_too_long_) return Verdict::LineTooLong;
  if (too_large_) return Verdict::TooLarge;
  return Verdict::Ok;
}

void DataReader::step(char byte) {
  switch (state_) {
    case State::LineStart:
      if (byte == '.') {
        // Not stored and not counted: the stuffed dot is transport, not part of the line
        // whose length RFC 5321 §4.5.3.1.6 limits; an end marker has no length at all.
        state_ = State::Dot;
        return;
      }
      text_byte(byte);
      return;
    case State::Dot:
      if (byte == '\r') {
        count_line_bytes(1);
        state_ = State::DotCr;
        return;
      }
      text_byte(byte);
      return;
    case State::DotCr:
      if (byte == '\n') {
        state_ = State::Done;
        return;
      }
      bad_line_ending_ = true;  // ".\r" then not LF: a bare CR, not an end of data
      text_byte(byte);
      return;
    case State::Cr:
      if (byte == '\n') {
        count_line_bytes(1);
        store("\r\n");
        line_length_ = 0;
        state_ = State::LineStart;
        return;
      }
      bad_line_ending_ = true;  // bare CR
      text_byte(byte);
      return;
    case State::Text:
      text_byte(byte);
      return;
    case State::Done:
      return;
  }
}

// A byte inside a line. CR waits for its LF; a bare LF or NUL never ends anything.
void DataReader::text_byte(char byte) {
  count_line_bytes(1);
  state_ = State::Text;
  if (byte == '\r') {
    state_ = State::Cr;
  } else if (byte == '\n' || byte == '\0') {
    bad_line_ending_ = true;
  } else {
    store(std::string_view(&byte, 1));
  }
}

void DataReader::count_line_bytes(std::size_t count) {
  line_length_ += count;
  if (line_length_ > kMaxDataLine) line_too_long_ = true;
}

// Stores content only while the message can still be accepted; a refused message's piece is
// dropped, so nothing of it is handed over any more.
void DataReader::store(std::string_view bytes) {
  if (!refused() && bytes.size() > max_message_size_ - stored_) too_large_ = true;
  if (refused()) {
    piece_.clear();
    return;
  }
  stored_ += bytes.size();
  piece_.append(bytes);
}

}  // namespace smtp

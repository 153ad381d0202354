#include "shares/mail_header_section.hpp"

namespace postern::shares {

MailLine line_at(std::string_view mail, std::size_t pos) {
  const std::size_t lf = mail.find('\n', pos);
  const std::size_t end = lf == std::string_view::npos ? mail.size() : lf;
  std::string_view text = mail.substr(pos, end - pos);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  return MailLine{text, lf == std::string_view::npos ? mail.size() : lf + 1};
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view trim_blanks(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

HeaderSection read_header_section(std::string_view mail, std::size_t start) {
  HeaderSection section;
  std::vector<std::string> unfolded;
  bool in_field = false;
  std::size_t pos = start;
  while (pos < mail.size()) {
    const MailLine line = line_at(mail, pos);
    const std::string_view with_break = mail.substr(pos, line.next - pos);
    pos = line.next;
    if (line.text.empty()) break;
    if (line.text.front() == ' ' || line.text.front() == '\t') {
      if (in_field) {  // unfolding drops only the line break
        unfolded.back() += line.text;
        section.fields.back().raw += with_break;
      } else {
        ++section.skipped_lines;
      }
      continue;
    }
    // A field name has no space in it; this keeps out an mbox "From " line ("... 10:00:00 2024").
    const std::size_t colon = line.text.find(':');
    const std::string_view name = colon == std::string_view::npos ? std::string_view() : trim_blanks(line.text.substr(0, colon));
    in_field = !name.empty() && name.find_first_of(" \t") == std::string_view::npos;
    if (in_field) {
      section.fields.push_back({ascii_lower(name), {}, std::string(with_break.substr(colon + 1))});
      unfolded.emplace_back(line.text.substr(colon + 1));
    } else {
      ++section.skipped_lines;
    }
  }
  section.body_start = pos;
  for (std::size_t i = 0; i < section.fields.size(); ++i) section.fields[i].value = std::string(trim_blanks(unfolded[i]));
  return section;
}

std::vector<const HeaderField*> find_fields(const std::vector<HeaderField>& fields, std::string_view lower_name) {
  std::vector<const HeaderField*> found;
  for (const HeaderField& field : fields) {
    if (field.name == lower_name) found.push_back(&field);
  }
  return found;
}

std::string first_field_value(const std::vector<HeaderField>& fields, std::string_view lower_name) {
  for (const HeaderField& field : fields) {
    if (field.name == lower_name) return field.value;
  }
  return {};
}

std::string media_type(std::string_view content_type) {
  return ascii_lower(trim_blanks(content_type.substr(0, content_type.find(';'))));
}

std::optional<std::string> content_type_parameter(std::string_view content_type, std::string_view lower_name) {
  const auto skip_space = [&](std::size_t pos) {
    while (pos < content_type.size() && (content_type[pos] == ' ' || content_type[pos] == '\t')) ++pos;
    return pos;
  };
  std::size_t pos = content_type.find(';');
  while (pos != std::string_view::npos) {
    const std::size_t equals = content_type.find('=', pos + 1);
    if (equals == std::string_view::npos) return std::nullopt;
    const std::string key = ascii_lower(trim_blanks(content_type.substr(pos + 1, equals - pos - 1)));
    pos = skip_space(equals + 1);
    std::string value;
    if (pos < content_type.size() && content_type[pos] == '"') {
      for (++pos; pos < content_type.size() && content_type[pos] != '"'; ++pos) {
        if (content_type[pos] == '\\' && pos + 1 < content_type.size()) ++pos;  // quoted-pair
        value += content_type[pos];
      }
      pos = content_type.find(';', pos);
    } else {
      const std::size_t end = content_type.find(';', pos);
      value = std::string(trim_blanks(content_type.substr(pos, end == std::string_view::npos ? end : end - pos)));
      pos = end;
    }
    if (key == lower_name) return value;
  }
  return std::nullopt;
}

}  // namespace postern::shares

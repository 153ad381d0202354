// See signature.hpp.
#include "dkim/signature.hpp"

#include "dkim/canonical.hpp"

#include <algorithm>
#include <cctype>
#include <map>

namespace postern::dkim {
namespace {

std::string lowercase(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

// A field's name, lowercased.
std::string field_name(std::string_view field) {
  std::string_view name = field.substr(0, field.find(':'));
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  return lowercase(name);
}

}  // namespace

std::vector<std::string> default_signed_headers() {
  return {"From",     "To",           "Cc",           "Subject",      "Date",
          "Message-ID", "Reply-To", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"};
}

std::vector<std::string_view> header_fields(std::string_view header_section) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (start < header_section.size()) {
    if (header_section.substr(start).starts_with("\r\n")) break;  // the empty line
    std::size_t end = start;
    // A field runs until a CRLF not followed by WSP (folding continues it).
    for (;;) {
      const std::size_t crlf = header_section.find("\r\n", end);
      if (crlf == std::string_view::npos) {
        end = header_section.size();
        break;
      }
      end = crlf + 2;
      if (end >= header_section.size() || (header_section[end] != ' ' && header_section[end] != '\t')) break;
    }
    fields.push_back(header_section.substr(start, end - start));
    start = end;
  }
  return fields;
}

std::vector<std::string> names_to_sign(const std::vector<std::string_view>& fields,
                                       const std::vector<std::string>& configured) {
  std::map<std::string, int> present;
  for (std::string_view field : fields) ++present[field_name(field)];
  std::vector<std::string> names;
  for (const std::string& name : configured) {
    const std::string lower = lowercase(name);
    if (std::any_of(names.begin(), names.end(), [&](const std::string& n) { return lowercase(n) == lower; })) continue;
    const int count = present[lower] + (lower == "from" ? 1 : 0);
    for (int i = 0; i < count; ++i) names.push_back(name);
  }
  return names;
}

std::string signed_data(const std::vector<std::string_view>& fields, const std::vector<std::string>& names,
                        std::string_view unsigned_signature_field) {
  std::map<std::string, std::size_t> used;  // per name: how many instances were taken, from the bottom
  std::string data;
  for (const std::string& name : names) {
    const std::string lower = lowercase(name);
    std::size_t skip = used[lower]++;
    for (auto it = fields.rbegin(); it != fields.rend(); ++it) {
      if (field_name(*it) != lower) continue;
      if (skip-- > 0) continue;
      data += relaxed_header(*it);
      break;
    }
  }
  std::string signature = relaxed_header(unsigned_signature_field);
  signature.resize(signature.size() - 2);  // without its CRLF
  return data + signature;
}

std::string signature_field(std::string_view header_section, std::string_view body_hash, const Signer& signer,
                            const std::vector<std::string>& configured_headers, std::time_t now) {
  const std::vector<std::string_view> fields = header_fields(header_section);
  const std::vector<std::string> names = names_to_sign(fields, configured_headers);
  std::string h;
  for (const std::string& name : names) h += (h.empty() ? "" : ":") + name;
  std::string field = "DKIM-Signature: v=1; a=" + std::string(signature_algorithm(signer.key.algorithm())) +
                      "; c=relaxed/relaxed; d=" + signer.domain + "; s=" + signer.selector +
                      ";\r\n\tt=" + std::to_string(now) + "; h=" + h + ";\r\n\tbh=" + std::string(body_hash) +
                      ";\r\n\tb=";
  const std::string signature = base64(signer.key.sign(signed_data(fields, names, field)));
  // b= folded into lines of 72 characters: FWS inside b= is ignored by verifiers.
  for (std::size_t at = 0; at < signature.size(); at += 72) {
    if (at > 0) field += "\r\n\t";
    field += signature.substr(at, 72);
  }
  return field + "\r\n";
}

std::string header_from_domain(std::string_view header_section) {
  for (std::string_view field : header_fields(header_section)) {
    if (field_name(field) != "from") continue;
    // The first address: inside <> when there are any, else the bare addr-spec.
    std::string_view value = field.substr(field.find(':') + 1);
    const std::size_t open = value.find('<');
    if (open != std::string_view::npos) value = value.substr(open + 1, value.find('>', open) - open - 1);
    const std::size_t at = value.rfind('@');
    if (at == std::string_view::npos) return {};
    std::string domain;
    for (char c : value.substr(at + 1)) {
      if (c == '>' || c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == ')') break;
      domain.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    return domain;
  }
  return {};
}

std::string dns_txt_record(std::string_view domain, std::string_view selector, Algorithm algorithm,
                           std::string_view public_key) {
  const std::string text = "v=DKIM1; k=" + std::string(key_type(algorithm)) + "; p=" + std::string(public_key);
  std::string record = std::string(selector) + "._domainkey." + std::string(domain) + ". IN TXT ";
  for (std::size_t at = 0; at < text.size(); at += 255) {
    if (at > 0) record += ' ';
    record += "\"" + text.substr(at, 255) + "\"";
  }
  return record;
}

}  // namespace postern::dkim

// What a POP3 server offers, from its CAPA list (RFC 2449 §5: one capability per line, a
// case-insensitive name and its arguments). The protocol adds each line of the list with add();
// a server that refuses CAPA (an RFC 1939 server) stays !known, and USER/PASS is assumed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pop3_client {

struct Capabilities {
  bool known = false;             // the server answered CAPA with a list
  bool stls = false;              // RFC 2595 §4
  bool user = false;              // RFC 2449 §6.8: USER/PASS
  std::vector<std::string> sasl;  // RFC 2449 §6.3: the SASL mechanisms for AUTH, upper case

  // One line of the CAPA list (already un-stuffed), e.g. "SASL PLAIN LOGIN".
  void add(std::string_view line);
  bool offers_sasl(std::string_view mechanism) const;

  friend bool operator==(const Capabilities&, const Capabilities&) = default;
};

}  // namespace pop3_client

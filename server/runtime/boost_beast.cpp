// The one translation unit that compiles Boost.Beast (BOOST_BEAST_SEPARATE_COMPILATION): every
// other file includes only declarations.
#include <boost/beast/src.hpp>

// The connection string gets libpq's connect timeout and TCP keepalives unless it sets them.
#include "postern/schema/store.hpp"

#include <gtest/gtest.h>

using postern::schema::with_connection_defaults;

TEST(ConnectionDefaults, AUriGetsThemAsQueryParameters) {
  EXPECT_EQ(with_connection_defaults("postgresql://relay@db:5432/postern"),
            "postgresql://relay@db:5432/postern?connect_timeout=5&keepalives=1&keepalives_idle=30"
            "&keepalives_interval=10&keepalives_count=3");
  EXPECT_EQ(with_connection_defaults("postgres://db/postern?sslmode=require"),
            "postgres://db/postern?sslmode=require&connect_timeout=5&keepalives=1&keepalives_idle=30"
            "&keepalives_interval=10&keepalives_count=3");
}

TEST(ConnectionDefaults, AKeywordListGetsThemAsKeywords) {
  EXPECT_EQ(with_connection_defaults("host=db dbname=postern"),
            "host=db dbname=postern connect_timeout=5 keepalives=1 keepalives_idle=30 "
            "keepalives_interval=10 keepalives_count=3");
}

TEST(ConnectionDefaults, WhatTheOperatorSetStays) {
  EXPECT_EQ(with_connection_defaults("host=db connect_timeout=20 keepalives_idle=5"),
            "host=db connect_timeout=20 keepalives_idle=5 keepalives=1 keepalives_interval=10 "
            "keepalives_count=3");
}

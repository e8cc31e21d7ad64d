#pragma once

// A broker store in a temporary folder and a turn over it: what the unit
// tests of the modules that write through the turn start from.

#include <gtest/gtest.h>

#include <memory>

#include "harness.h"
#include "turn.h"
#include "weituo/common/directory.h"

namespace weituo::broker {

class TurnFixture : public ::testing::Test {
 protected:
  void SetUp() override { OpenStore(); }
  // (Re)opens the store; the turn starts empty.
  void OpenStore() {
    turn_.reset();
    store_.reset();
    auto store = BrokerStore::Open(dir_.path() + "/db");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    turn_ = std::make_unique<Turn>(*store_);
  }
  // The courts of `toml` become directory_.
  void LoadDirectory(const char* toml) {
    auto directory = CourtDirectory::LoadString(toml, "test.toml");
    ASSERT_TRUE(directory.ok()) << directory.status().ToString();
    directory_ = std::move(directory).value();
  }

  weituo::testing::TempDir dir_;
  std::unique_ptr<BrokerStore> store_;
  std::unique_ptr<Turn> turn_;
  CourtDirectory directory_;
};

}  // namespace weituo::broker

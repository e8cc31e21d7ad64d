#pragma once

// A broker store in a temporary folder and a turn over it: what the unit
// tests of the modules that write through the turn start from.

#include <gtest/gtest.h>

#include <memory>

#include "harness.h"
#include "turn.h"

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

  weituo::testing::TempDir dir_;
  std::unique_ptr<BrokerStore> store_;
  std::unique_ptr<Turn> turn_;
};

}  // namespace weituo::broker

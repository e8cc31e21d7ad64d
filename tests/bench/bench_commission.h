// The commission every benchmark sends: a debtor-locate commission padded
// to a chosen encoded size, so that Weituo, RabbitMQ and NATS carry the same
// bytes. Shared by weituo_bench, the comparison drivers and ceiling_bench.
#pragma once

#include <algorithm>
#include <array>
#include <string>

#include "weituo/common/clock.h"
#include "weituo/common/directory.h"
#include "weituo/common/ids.h"
#include "weituo/v1/commission.pb.h"

namespace weituo::bench {

using weituo::v1::Commission;

// The eight courts of deploy/zone/courts.toml, in file order.
constexpr std::array<const char*, 8> kCourts = {"kaihua", "changshan", "chunan",  "dexing",
                                                "wuyuan", "yushan",    "xiuning", "shexian"};

// A commission from `origin` to `target` whose encoding is about `bytes`
// long: the debtor's addresses and the notes are padded to reach it.
inline Commission MakeCommission(const std::string& origin, const weituo::CourtEntry& target,
                                 size_t n, size_t bytes) {
  Commission c;
  const int64_t now_ms = weituo::NowMs();
  c.set_id(weituo::NewUlid(now_ms));
  c.set_created_at_ms(now_ms);  // as Submit would, so it counts in the size
  c.set_case_number("（2024）" + origin + "执" + std::to_string(10000 + n) + "号");
  c.set_origin_court(origin);
  c.set_target_court(target.id);
  c.set_origin_handler("执行员 " + origin + "-" + std::to_string(n % 17));
  c.set_origin_contact("0570-6" + std::to_string(100000 + n % 900000));
  c.set_campaign("bench");
  auto* debtor = c.mutable_debtor();
  debtor->set_name("被执行人 " + std::to_string(n));
  debtor->set_id_number("33082419800101" + std::to_string(1000 + n % 9000));
  if (!target.region_codes.empty()) debtor->set_region_code(target.region_codes.front());
  debtor->add_phones("139" + std::to_string(10000000 + n % 90000000));
  for (int i = 0; i < 3; ++i) {
    debtor->add_addresses(target.name + " 某镇某村 " + std::to_string(i + 1) + " 组 " +
                          std::to_string(n % 300) + " 号，曾在县城东门菜市场经营摊位");
  }
  auto* locate = c.mutable_debtor_locate();
  locate->set_notes("据申请执行人反映，被执行人长期在户籍地居住，常驻地址如上。");
  size_t size = c.ByteSizeLong();
  if (size < bytes) {
    // Notes grow byte for byte (a one-byte length prefix becomes two at 128;
    // ByteSizeLong() is exact, so pad, then trim what overshot).
    std::string pad(bytes - size, '.');
    locate->set_notes(locate->notes() + pad);
    size_t over = c.ByteSizeLong() > bytes ? c.ByteSizeLong() - bytes : 0;
    locate->mutable_notes()->resize(locate->notes().size() - std::min(over, pad.size()));
  }
  return c;
}

}  // namespace weituo::bench

#include <gtest/gtest.h>

#include "util/build_info.h"
#include "util/device.h"
#include "util/error.h"

using namespace nmar::core;

TEST(BuildInfo, ReportsVersionsAndBlas) {
  const BuildInfo b = buildInfo();
  EXPECT_FALSE(b.version.empty());
  EXPECT_FALSE(b.torchVersion.empty());
  EXPECT_EQ(b.sqliteVersion.substr(0, 2), "3.");
  EXPECT_FALSE(b.blas.empty());
  EXPECT_GT(b.intraOpThreads, 0);
  EXPECT_NE(buildInfoText().find("BLAS: "), std::string::npos);
}

TEST(Device, ParsesKnownNamesAndRejectsOthers) {
  EXPECT_EQ(parseDevice("cpu").type(), c10::kCPU);
  EXPECT_EQ(parseDevice("CPU").type(), c10::kCPU);
  EXPECT_THROW(parseDevice("tpu"), Error);
  EXPECT_THROW(parseDevice("cuda:x"), Error);
  EXPECT_EQ(parseDtype("fp32"), c10::kFloat);
  EXPECT_EQ(parseDtype("bf16"), c10::kBFloat16);
  EXPECT_EQ(dtypeName(c10::kBFloat16), "bf16");
  try {
    parseDtype("int7");
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("int7"), std::string::npos);
  }
}

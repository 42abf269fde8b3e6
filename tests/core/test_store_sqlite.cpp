// The SQLite wrapper (SqliteDb, Statement) and SHA-256: values round trip through bound
// parameters, and every failure is an Error naming the file and the SQL operation.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <cmath>

#include "store/sha256.h"
#include "store/sqlite_db.h"
#include "test_store_support.h"
#include "util/error.h"

using namespace nmar::core;
using namespace nmar::core::testing;

namespace {
using Sqlite = StoreTest;
}

TEST_F(Sqlite, BoundValuesRoundTrip) {
  SqliteDb db(path("t.sqlite"), OpenMode::kReadWriteCreate);
  db.exec("CREATE TABLE t (i INTEGER, d REAL, s TEXT, n INTEGER)");
  Statement ins(db, "INSERT INTO t VALUES (?, ?, ?, ?)");
  ins.bind(1, std::int64_t(1) << 40)
      .bind(2, 0.25)
      .bind(3, "it's \"quoted\"; DROP TABLE t;")
      .bindNull(4)
      .run();
  ins.bind(1, std::optional<std::int64_t>())
      .bind(2, std::nan(""))
      .bind(3, std::string("x\0y", 3))
      .bind(4, 7)
      .run();
  EXPECT_EQ(db.lastInsertId(), 2);
  EXPECT_EQ(db.changes(), 1);
  Statement sel(db, "SELECT i, d, s, n FROM t ORDER BY rowid");
  ASSERT_TRUE(sel.step());
  EXPECT_EQ(sel.columnInt(0), std::int64_t(1) << 40);
  EXPECT_EQ(sel.columnDouble(1), 0.25);
  EXPECT_EQ(sel.columnText(2), "it's \"quoted\"; DROP TABLE t;");
  EXPECT_FALSE(sel.columnOptInt(3).has_value());
  ASSERT_TRUE(sel.step());
  EXPECT_TRUE(sel.columnIsNull(0));
  EXPECT_TRUE(std::isnan(sel.columnDouble(1)));  // NaN is stored as NULL
  EXPECT_FALSE(sel.columnOptDouble(1).has_value());
  EXPECT_EQ(sel.columnText(2), std::string("x\0y", 3));
  EXPECT_EQ(sel.columnOptInt(3), 7);
  EXPECT_FALSE(sel.step());
  EXPECT_EQ(db.queryInt("SELECT count(*) FROM t"), 2);
  EXPECT_FALSE(db.inTransaction());
  db.exec("BEGIN");
  EXPECT_TRUE(db.inTransaction());
  db.exec("ROLLBACK");
}

TEST_F(Sqlite, ErrorsNameTheFileAndTheOperation) {
  const fs::path file = path("e.sqlite");
  SqliteDb db(file, OpenMode::kReadWriteCreate);
  db.exec("CREATE TABLE t (k TEXT PRIMARY KEY)");
  try {
    Statement bad(db, "SELECT nope FROM t");
    FAIL();
  } catch (const SqliteError& e) {
    EXPECT_EQ(std::string(e.what()),
              file.string() + ": SELECT nope FROM t: no such column: nope (SQLITE_ERROR)");
    EXPECT_EQ(e.primaryCode(), SQLITE_ERROR);
  }
  Statement ins(db, "INSERT INTO t (k) VALUES (?)");
  ins.bind(1, "a").run();
  try {
    ins.bind(1, "a").run();
    FAIL();
  } catch (const SqliteError& e) {
    EXPECT_EQ(e.code(), SQLITE_CONSTRAINT_PRIMARYKEY);
    EXPECT_NE(
        std::string(e.what()).find(file.string() + ": INSERT INTO t: UNIQUE constraint failed"),
        std::string::npos)
        << e.what();
  }
  ins.bind(1, "b").run();  // reusable after an error
  EXPECT_EQ(db.queryInt("SELECT count(*) FROM t"), 2);
  try {
    SqliteDb missing(path("no/such/folder/x.sqlite"), OpenMode::kReadWriteCreate);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no/such/folder/x.sqlite: cannot open or create"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(SqliteDb(path("absent.sqlite"), OpenMode::kReadOnly), Error);
}

TEST(SqlOpName, ShortensStatements) {
  EXPECT_EQ(sqlOpName("  INSERT INTO metrics (a, b) VALUES (?, ?)"), "INSERT INTO metrics");
  EXPECT_EQ(sqlOpName("SELECT\n  id,   name FROM runs"), "SELECT id, name FROM runs");
  EXPECT_EQ(sqlOpName(""), "(empty SQL)");
  EXPECT_LE(sqlOpName(std::string(100, 'x')).size(), 40u);
}

TEST_F(Sqlite, Sha256OfBytesAndFiles) {
  EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // Larger than the 1 MiB read block, so the streaming path is exercised.
  std::string big(3 * 1024 * 1024 + 17, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31 + 7);
  writeBytes(path("big.bin"), big);
  const FileDigest d = sha256File(path("big.bin"));
  EXPECT_EQ(d.bytes, static_cast<std::int64_t>(big.size()));
  EXPECT_EQ(d.sha256, sha256Hex(big));
  writeBytes(path("empty.bin"), "");
  EXPECT_EQ(sha256File(path("empty.bin")).sha256, sha256Hex(""));
  try {
    sha256File(path("absent.bin"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("absent.bin: cannot read"), std::string::npos);
  }
  EXPECT_THROW(sha256File(m_dir), Error);
}

#include "store/sqlite_db.h"

#include <sqlite3.h>

#include <cmath>
#include <utility>

namespace nmar::core {
namespace {

/** The symbolic name of a primary result code, for messages. */
const char* codeName(int rc) {
  switch (rc & 0xff) {
    case SQLITE_ERROR:
      return "SQLITE_ERROR";
    case SQLITE_PERM:
      return "SQLITE_PERM";
    case SQLITE_ABORT:
      return "SQLITE_ABORT";
    case SQLITE_BUSY:
      return "SQLITE_BUSY";
    case SQLITE_LOCKED:
      return "SQLITE_LOCKED";
    case SQLITE_NOMEM:
      return "SQLITE_NOMEM";
    case SQLITE_READONLY:
      return "SQLITE_READONLY";
    case SQLITE_INTERRUPT:
      return "SQLITE_INTERRUPT";
    case SQLITE_IOERR:
      return "SQLITE_IOERR";
    case SQLITE_CORRUPT:
      return "SQLITE_CORRUPT";
    case SQLITE_FULL:
      return "SQLITE_FULL";
    case SQLITE_CANTOPEN:
      return "SQLITE_CANTOPEN";
    case SQLITE_PROTOCOL:
      return "SQLITE_PROTOCOL";
    case SQLITE_SCHEMA:
      return "SQLITE_SCHEMA";
    case SQLITE_TOOBIG:
      return "SQLITE_TOOBIG";
    case SQLITE_CONSTRAINT:
      return "SQLITE_CONSTRAINT";
    case SQLITE_MISMATCH:
      return "SQLITE_MISMATCH";
    case SQLITE_MISUSE:
      return "SQLITE_MISUSE";
    case SQLITE_RANGE:
      return "SQLITE_RANGE";
    case SQLITE_NOTADB:
      return "SQLITE_NOTADB";
    default:
      return "SQLITE error";
  }
}

int openFlags(OpenMode mode) {
  switch (mode) {
    case OpenMode::kReadOnly:
      return SQLITE_OPEN_READONLY | SQLITE_OPEN_URI;
    case OpenMode::kReadWrite:
      return SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI;
    case OpenMode::kReadWriteCreate:
      return SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI;
  }
  return SQLITE_OPEN_READONLY;
}

}  // namespace

std::string sqlOpName(std::string_view sql) {
  const auto b = sql.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "(empty SQL)";
  sql.remove_prefix(b);
  std::string op;
  bool space = false;
  for (char c : sql) {
    if (c == '(' || c == ';') break;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = !op.empty();
      continue;
    }
    if (space) op += ' ';
    space = false;
    op += c;
    if (op.size() >= 40) break;
  }
  return op;
}

// --- SqliteDb ---

SqliteDb::SqliteDb(const std::filesystem::path& path, OpenMode mode) : m_path(path) {
  const int rc = sqlite3_open_v2(path.c_str(), &m_db, openFlags(mode), nullptr);
  if (rc != SQLITE_OK) {
    const std::string reason = m_db ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc);
    sqlite3_close_v2(m_db);
    m_db = nullptr;
    throw SqliteError(path.string() + ": cannot open " +
                          (mode == OpenMode::kReadWriteCreate ? "or create " : "") +
                          "the database: " + reason + " (" + codeName(rc) + ")",
                      rc);
  }
  sqlite3_extended_result_codes(m_db, 1);
}

SqliteDb::~SqliteDb() {
  if (m_db) sqlite3_close_v2(m_db);
}

SqliteDb::SqliteDb(SqliteDb&& other) noexcept
    : m_path(std::move(other.m_path)), m_db(std::exchange(other.m_db, nullptr)) {}

SqliteDb& SqliteDb::operator=(SqliteDb&& other) noexcept {
  if (this != &other) {
    if (m_db) sqlite3_close_v2(m_db);
    m_path = std::move(other.m_path);
    m_db = std::exchange(other.m_db, nullptr);
  }
  return *this;
}

std::string SqliteDb::errorMessage(int rc, std::string_view op) const {
  // The connection's message is the precise one when it belongs to this code; else the generic.
  const bool own = m_db && sqlite3_extended_errcode(m_db) == rc;
  const std::string reason = own ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc);
  return m_path.string() + ": " + std::string(op) + ": " + reason + " (" + codeName(rc) + ")";
}

void SqliteDb::check(int rc, std::string_view op) const {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return;
  throw SqliteError(errorMessage(rc, op), rc);
}

void SqliteDb::exec(std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  const int rc = sqlite3_exec(m_db, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string reason = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw SqliteError(
        m_path.string() + ": " + sqlOpName(sql) + ": " + reason + " (" + codeName(rc) + ")", rc);
  }
}

std::int64_t SqliteDb::queryInt(std::string_view sql) {
  Statement s(*this, sql);
  return s.step() ? s.columnInt(0) : 0;
}

std::string SqliteDb::queryText(std::string_view sql) {
  Statement s(*this, sql);
  return s.step() ? s.columnText(0) : std::string();
}

std::int64_t SqliteDb::lastInsertId() const { return sqlite3_last_insert_rowid(m_db); }

std::int64_t SqliteDb::changes() const { return sqlite3_changes64(m_db); }

bool SqliteDb::inTransaction() const { return sqlite3_get_autocommit(m_db) == 0; }

bool SqliteDb::isReadOnly() const { return sqlite3_db_readonly(m_db, "main") == 1; }

// --- Statement ---

Statement::Statement(SqliteDb& db, std::string_view sql) : m_db(&db), m_op(sqlOpName(sql)) {
  const int rc = sqlite3_prepare_v3(db.handle(), sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &m_stmt, nullptr);
  db.check(rc, m_op);
}

Statement::~Statement() {
  if (m_stmt) sqlite3_finalize(m_stmt);
}

Statement::Statement(Statement&& other) noexcept
    : m_db(other.m_db), m_stmt(std::exchange(other.m_stmt, nullptr)), m_op(std::move(other.m_op)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (m_stmt) sqlite3_finalize(m_stmt);
    m_db = other.m_db;
    m_stmt = std::exchange(other.m_stmt, nullptr);
    m_op = std::move(other.m_op);
  }
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  m_db->check(sqlite3_bind_int64(m_stmt, index, value), m_op);
  return *this;
}

Statement& Statement::bind(int index, double value) {
  if (std::isnan(value)) return bindNull(index);
  m_db->check(sqlite3_bind_double(m_stmt, index, value), m_op);
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  m_db->check(
      sqlite3_bind_text64(m_stmt, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
      m_op);
  return *this;
}

Statement& Statement::bindNull(int index) {
  m_db->check(sqlite3_bind_null(m_stmt, index), m_op);
  return *this;
}

Statement& Statement::bind(int index, const std::optional<std::int64_t>& value) {
  return value ? bind(index, *value) : bindNull(index);
}

Statement& Statement::bind(int index, const std::optional<double>& value) {
  return value ? bind(index, *value) : bindNull(index);
}

int Statement::tryStep() {
  const int rc = sqlite3_step(m_stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) sqlite3_reset(m_stmt);
  return rc;
}

bool Statement::step() {
  const int rc = tryStep();
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw SqliteError(m_db->errorMessage(rc, m_op), rc);
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() { sqlite3_reset(m_stmt); }

void Statement::clearBindings() { sqlite3_clear_bindings(m_stmt); }

std::int64_t Statement::columnInt(int col) const { return sqlite3_column_int64(m_stmt, col); }

double Statement::columnDouble(int col) const {
  if (columnIsNull(col)) return std::nan("");
  return sqlite3_column_double(m_stmt, col);
}

std::string Statement::columnText(int col) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, col));
  if (!text) return {};
  return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, col)));
}

bool Statement::columnIsNull(int col) const {
  return sqlite3_column_type(m_stmt, col) == SQLITE_NULL;
}

std::optional<std::int64_t> Statement::columnOptInt(int col) const {
  if (columnIsNull(col)) return std::nullopt;
  return columnInt(col);
}

std::optional<double> Statement::columnOptDouble(int col) const {
  if (columnIsNull(col)) return std::nullopt;
  return sqlite3_column_double(m_stmt, col);
}

}  // namespace nmar::core

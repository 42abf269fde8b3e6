#pragma once
/**
 * @file A thin RAII layer over the SQLite C API: a connection (SqliteDb) and a prepared statement
 * (Statement). Every failure throws nmar::core::Error naming the database file and the SQL
 * operation, e.g. "runs.sqlite: INSERT INTO metrics: database or disk is full (SQLITE_FULL)".
 * Values are always bound as parameters; SQL text never carries data.
 */
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "util/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace nmar::core {

/**
 * An Error raised by SQLite itself; code() is the extended result code (SQLITE_FULL,
 * SQLITE_CONSTRAINT_FOREIGNKEY, ...), so callers can tell a rejected row from a failed write.
 */
class SqliteError : public Error {
 public:
  /** @p message is the full text (file, operation, reason); @p code the extended result code. */
  SqliteError(const std::string& message, int code) : Error(message), m_code(code) {}
  /** The extended SQLite result code. */
  int code() const { return m_code; }
  /** The primary result code (code() & 0xff). */
  int primaryCode() const { return m_code & 0xff; }

 private:
  int m_code;
};

/** How a SqliteDb opens its file. */
enum class OpenMode {
  kReadOnly,         ///< never writes; the file must exist
  kReadWrite,        ///< the file must exist
  kReadWriteCreate,  ///< creates the file when missing
};

/**
 * One SQLite connection. Movable, not copyable; closes on destruction. Like SQLite connections in
 * general it may be used from one thread at a time (callers serialise access).
 */
class SqliteDb {
 public:
  /**
   * Opens @p path (URI filenames are enabled, so ATTACH can use "file:...?mode=ro"). Throws Error
   * "<path>: cannot open ...: <reason>" (naming a missing or unwritable folder). Opening does not
   * read the file yet: a file that is not SQLite is only detected by the first statement.
   */
  SqliteDb(const std::filesystem::path& path, OpenMode mode);
  ~SqliteDb();
  SqliteDb(SqliteDb&& other) noexcept;
  SqliteDb& operator=(SqliteDb&& other) noexcept;
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  /** Runs one or more statements without results (DDL, PRAGMA, BEGIN/COMMIT). Throws Error. */
  void exec(std::string_view sql);

  /** The first column of the first row of @p sql as an integer (0 when there is no row). */
  std::int64_t queryInt(std::string_view sql);

  /** The first column of the first row of @p sql as text (empty when there is no row or NULL). */
  std::string queryText(std::string_view sql);

  /** sqlite3_last_insert_rowid(). */
  std::int64_t lastInsertId() const;

  /** Rows changed by the most recent INSERT/UPDATE/DELETE. */
  std::int64_t changes() const;

  /** True while a transaction is open on this connection. */
  bool inTransaction() const;

  /** True when SQLite opened the main database read-only (a write-protected file). */
  bool isReadOnly() const;

  /** The file this connection was opened on, as given. */
  const std::filesystem::path& path() const { return m_path; }

  /** The raw handle, for the few calls this wrapper does not cover (backup, busy handler). */
  sqlite3* handle() const { return m_db; }

  /**
   * Throws SqliteError "<path>: <op>: <sqlite message> (<code name>)" when @p rc is not
   * SQLITE_OK, SQLITE_ROW or SQLITE_DONE. @p op names the operation (usually the start of the SQL).
   */
  void check(int rc, std::string_view op) const;

  /** The Error message check() would produce for @p rc. */
  std::string errorMessage(int rc, std::string_view op) const;

 private:
  std::filesystem::path m_path;
  sqlite3* m_db = nullptr;
};

/**
 * A prepared statement on a SqliteDb (which must outlive it). Parameters are 1-based, columns
 * 0-based, as in SQLite. step() returns true while there is a row; reset() makes it reusable.
 * Errors throw Error naming the database file and the statement's operation.
 */
class Statement {
 public:
  /** Prepares @p sql (one statement). Throws Error naming the file and the SQL. */
  Statement(SqliteDb& db, std::string_view sql);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  /** Binds an integer. Returns *this for chaining. */
  Statement& bind(int index, std::int64_t value);
  /** Binds an int (as an integer). */
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  /** Binds a double; NaN is stored as NULL (SQLite has no NaN). */
  Statement& bind(int index, double value);
  /** Binds text (copied). */
  Statement& bind(int index, std::string_view value);
  /** Binds text (copied); a C string overload so literals do not decay to bool. */
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  /** Binds text (copied). */
  Statement& bind(int index, const std::string& value) {
    return bind(index, std::string_view(value));
  }
  /** Binds NULL. */
  Statement& bindNull(int index);
  /** Binds @p value, or NULL when it is empty. */
  Statement& bind(int index, const std::optional<std::int64_t>& value);
  /** Binds @p value, or NULL when it is empty. */
  Statement& bind(int index, const std::optional<double>& value);

  /**
   * Executes one step: true when a row is available, false when done. Throws Error on failure
   * (the statement is reset, so it can be reused).
   */
  bool step();

  /** step() until done, for statements without results. Resets the statement afterwards. */
  void run();

  /**
   * Executes one step and returns the raw SQLite result code (SQLITE_ROW, SQLITE_DONE or an error)
   * without throwing, for callers that handle row-level failures themselves. Resets on error.
   */
  int tryStep();

  /** Makes the statement ready to run again; bindings are kept. */
  void reset();
  /** Sets every parameter to NULL. */
  void clearBindings();

  /** Integer value of column @p col (0 for NULL). */
  std::int64_t columnInt(int col) const;
  /** Double value of column @p col; NULL reads as NaN. */
  double columnDouble(int col) const;
  /** Text value of column @p col (empty for NULL). */
  std::string columnText(int col) const;
  /** True when column @p col is NULL. */
  bool columnIsNull(int col) const;
  /** Integer value of column @p col, or empty for NULL. */
  std::optional<std::int64_t> columnOptInt(int col) const;
  /** Double value of column @p col, or empty for NULL. */
  std::optional<double> columnOptDouble(int col) const;

  /** The operation name used in error messages (the start of the SQL). */
  const std::string& op() const { return m_op; }

 private:
  SqliteDb* m_db = nullptr;
  sqlite3_stmt* m_stmt = nullptr;
  std::string m_op;
};

/**
 * The short operation name of @p sql for messages: its first words up to the first parenthesis,
 * e.g. "INSERT INTO metrics", "SELECT ... FROM runs" is shortened to at most 40 characters.
 */
std::string sqlOpName(std::string_view sql);

}  // namespace nmar::core

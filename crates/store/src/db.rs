//! Opening the database and the write transaction every mutation runs in.

use crate::row::{Db, DbConnection, DbPool};
use crate::Result;
use sqlx::any::AnyPoolOptions;
use sqlx::{Executor, Transaction};
use std::path::Path;
use std::time::Duration;

/// Handle to the database. Writes go through a single connection, so mutations of the
/// store are serialised in this process (SQLite has one writer anyway, and busy_timeout
/// orders writers of other processes); reads use a pool and never wait for writers (WAL).
#[derive(Clone)]
pub struct Store {
    pub dialect: Dialect,
    /// PostgreSQL's URL, for the connection that listens for new jobs.
    pub(crate) url: Option<std::sync::Arc<str>>,
    /// Names this handle's notices of new jobs: its own are woken for in-process.
    pub(crate) instance: std::sync::Arc<str>,
    pub(crate) write: DbPool,
    pub(crate) read: DbPool,
    pub(crate) snapshot: std::sync::Arc<arc_swap::ArcSwapOption<crate::generation::Snapshot>>,
    /// Woken after every commit that changed a tree in this process.
    changed: std::sync::Arc<tokio::sync::Notify>,
}

/// The databases a store runs on. Their SQL differs only in the schema files (types) and in
/// how a writer takes its turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// On PostgreSQL writers take their turn as on SQLite, one at a time: every write
/// transaction first takes this transaction-scoped advisory lock, so a tree read and written
/// back in one transaction is never written by another in between.
const POSTGRES_BEGIN_WRITE: &str = "BEGIN; SELECT pg_advisory_xact_lock(7431001)";

/// Each load balancer's tree also has a lock of its own (a second lock space: two-key
/// advisory locks), taken by every write transaction the first time it reads or writes that
/// tree. The worker's settlement takes only that one (`begin_tree`), so it runs beside the
/// API's writes to other trees; a writer that holds the turn above may take several tree
/// locks, one that holds a tree lock never waits for the turn, so no two wait on each other.
const POSTGRES_TREE_LOCK: &str = "SELECT pg_advisory_xact_lock(7431002, hashtext($1))";

/// Writers take the database's write lock when they begin, not at their first write: a
/// deferred transaction that read first and then finds another process's commit cannot
/// upgrade and fails at once (SQLITE_BUSY), while one that waits for the lock up front is
/// served in turn by the busy timeout.
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// A write transaction: everything a request changes commits together or not at all.
pub struct WriteTx {
    pub(crate) tx: Transaction<'static, Db>,
    pub(crate) dialect: Dialect,
    pub(crate) instance: std::sync::Arc<str>,
    /// Load balancers whose trees this transaction wrote: commit records them under a new
    /// generation.
    pub(crate) touched: std::collections::BTreeSet<String>,
    /// Trees whose lock this transaction holds (PostgreSQL).
    locked: std::collections::HashSet<String>,
    changed: std::sync::Arc<tokio::sync::Notify>,
}

impl Store {
    pub async fn open(path: &Path) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let url = |mode: &str| format!("sqlite://{}?mode={mode}", path.display());
        let write = AnyPoolOptions::new()
            .max_connections(1)
            .after_connect(writer_pragmas)
            .connect(&url("rwc"))
            .await?;
        migrate(&write).await?;
        let read = AnyPoolOptions::new()
            .max_connections(4)
            .after_connect(reader_pragmas)
            .connect(&url("ro"))
            .await?;
        let store = Store {
            dialect: Dialect::Sqlite,
            url: None,
            instance: uuid::Uuid::new_v4().to_string().into(),
            write,
            read,
            snapshot: Default::default(),
            changed: Default::default(),
        };
        Ok(store)
    }

    /// `sqlite://PATH` or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Store> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            return Store::open(Path::new(path)).await;
        }
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(crate::StoreError::Unsupported(url.to_string()));
        }
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .connect(url)
            .await?;
        POSTGRES_MIGRATOR
            .run(&pool)
            .await
            .map_err(sqlx::Error::from)?;
        Ok(Store {
            dialect: Dialect::Postgres,
            url: Some(url.into()),
            instance: uuid::Uuid::new_v4().to_string().into(),
            write: pool.clone(),
            read: pool,
            snapshot: Default::default(),
            changed: Default::default(),
        })
    }

    /// A transaction holding the writer's turn (see `BEGIN_WRITE`, `POSTGRES_BEGIN_WRITE`).
    pub(crate) async fn writer(&self) -> Result<Transaction<'static, Db>> {
        Ok(match self.dialect {
            Dialect::Sqlite => self.write.begin_with(BEGIN_WRITE).await?,
            // One round trip: the turn is the bottleneck of many writers, and every round
            // trip made while holding it is time all of them wait.
            Dialect::Postgres => self.write.begin_with(POSTGRES_BEGIN_WRITE).await?,
        })
    }

    pub async fn begin(&self) -> Result<WriteTx> {
        Ok(WriteTx {
            tx: self.writer().await?,
            dialect: self.dialect,
            instance: self.instance.clone(),
            touched: Default::default(),
            locked: Default::default(),
            changed: self.changed.clone(),
        })
    }

    /// A write transaction confined to one load balancer's tree, its amphorae, its jobs and
    /// its VIP port (the worker settling a job). On PostgreSQL it holds that tree's lock
    /// rather than the writers' turn (see `POSTGRES_TREE_LOCK`); on SQLite it is `begin`.
    pub async fn begin_tree(&self, lb_id: &str) -> Result<WriteTx> {
        let tx = match self.dialect {
            Dialect::Sqlite => self.write.begin_with(BEGIN_WRITE).await?,
            Dialect::Postgres => self.write.begin().await?,
        };
        let mut tx = WriteTx {
            tx,
            dialect: self.dialect,
            instance: self.instance.clone(),
            touched: Default::default(),
            locked: Default::default(),
            changed: self.changed.clone(),
        };
        tx.lock_tree(lb_id).await?;
        Ok(tx)
    }

    /// Resolves after the next commit in this process that changes a load-balancer tree.
    /// Writers in other processes do not wake it: a waiter also re-reads on a timer.
    pub fn tree_changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

impl WriteTx {
    /// Takes the tree lock of a load balancer, once per transaction (PostgreSQL; SQLite's
    /// single writer needs none).
    pub(crate) async fn lock_tree(&mut self, lb_id: &str) -> Result<()> {
        if self.dialect == Dialect::Postgres && !self.locked.contains(lb_id) {
            sqlx::query(POSTGRES_TREE_LOCK)
                .bind(lb_id)
                .execute(&mut *self.tx)
                .await?;
            self.locked.insert(lb_id.to_string());
        }
        Ok(())
    }

    /// Leaves the database as it was before the transaction.
    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await?;
        Ok(())
    }

    pub async fn commit(mut self) -> Result<()> {
        let touched = !self.touched.is_empty();
        if touched {
            crate::generation::bump(&mut self.tx, &self.touched).await?;
        }
        self.tx.commit().await?;
        if touched {
            self.changed.notify_waiters();
        }
        Ok(())
    }
}

type Connected<'c> =
    std::pin::Pin<Box<dyn std::future::Future<Output = sqlx::Result<()>> + Send + 'c>>;

/// WAL: readers never wait for the writer; NORMAL sync is crash-safe and durable at each
/// checkpoint; writers of other processes wait their turn up to 10 s.
fn writer_pragmas(conn: &mut DbConnection, _: sqlx::pool::PoolConnectionMetadata) -> Connected<'_> {
    Box::pin(async move {
        conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL")
            .await?;
        conn.execute("PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON")
            .await?;
        Ok(())
    })
}

fn reader_pragmas(conn: &mut DbConnection, _: sqlx::pool::PoolConnectionMetadata) -> Connected<'_> {
    Box::pin(async move {
        conn.execute("PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON")
            .await?;
        Ok(())
    })
}

/// The schema's versions (`migrations/sqlite`, in the binary). A version that has shipped is
/// never edited (its checksum is recorded): a change is a new file.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
/// The same versions for PostgreSQL (`migrations/postgres`: BIGINT, BYTEA, identity).
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Brings the database to the newest schema version. A data dir from before versioned
/// migrations has the tables but no record of them: its columns are first brought to
/// version 1's (older ones lacked some), then version 1, whose statements all say
/// `IF NOT EXISTS`, is recorded over them and the later versions apply.
async fn migrate(pool: &DbPool) -> Result<()> {
    let has = |table: &'static str| async move {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sqlite_master WHERE name = $1")
            .bind(table)
            .fetch_one(pool)
            .await
    };
    if has("resources").await? > 0 && has("_sqlx_migrations").await? == 0 {
        add_missing_columns(pool).await?;
    }
    // Two processes opening a new data dir together: the second finds the first's versions.
    if MIGRATOR.run(pool).await.is_err() {
        tokio::time::sleep(Duration::from_millis(200)).await;
        MIGRATOR.run(pool).await.map_err(sqlx::Error::from)?;
    }
    Ok(())
}

/// Columns added to version 1's tables before versions were recorded: a data dir older than
/// them still has the tables without them.
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("networks", "external", "INTEGER NOT NULL DEFAULT 0"),
    ("networks", "shared", "INTEGER NOT NULL DEFAULT 0"),
    ("networks", "attrs", "TEXT NOT NULL DEFAULT '{}'"),
    ("subnets", "ip_version", "INTEGER NOT NULL DEFAULT 4"),
    ("subnets", "attrs", "TEXT NOT NULL DEFAULT '{}'"),
];

async fn add_missing_columns(pool: &DbPool) -> Result<()> {
    for (table, column, decl) in ADDED_COLUMNS {
        let present: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM pragma_table_info($1) WHERE name = $2")
                .bind(table)
                .bind(column)
                .fetch_one(pool)
                .await?;
        if present == 0 {
            sqlx::query(&format!("ALTER TABLE {table} ADD COLUMN {column} {decl}"))
                .execute(pool)
                .await?;
        }
    }
    Ok(())
}

"""The store reader: standard-library sqlite3, pandas only when it is installed."""

import os
import sqlite3
import urllib.parse

try:  # pandas is optional: without it every table is a list of dicts
    import pandas as _pandas
except ImportError:  # pragma: no cover - depends on the machine
    _pandas = None

# The fixed columns of `loom export --format csv`, in its order; then param.NAME and metric.NAME.
RUN_COLUMNS = [
    "id", "experiment", "index", "repetition", "task", "status", "succeeded", "attempt", "lost_attempts",
    "cached_from", "created_at", "started_at", "finished_at", "duration_s", "cache_key", "git_commit",
    "git_dirty", "code_commit", "error",
]

# The schema versions this reader knows (PRAGMA user_version; docs/store.md).
SUPPORTED_SCHEMA = 6  # 4 added attempt.shard, 5 worker.scheduler, 6 worker.machine; the reader reads none of them


class StoreError(Exception):
    """A store that cannot be read: missing, damaged, or of a newer schema."""


def open_store(path=".loom", frames=None):
    """Opens the store at `path`: a --state directory (holding loom.db) or the file itself.

    `frames`: True for pandas DataFrames, False for lists of dicts, None for DataFrames when
    pandas is installed.
    """
    return Store(path, frames=frames)


class Store:
    """A read-only view of one results store."""

    def __init__(self, path=".loom", frames=None):
        if os.path.isdir(path):
            path = os.path.join(path, "loom.db")
        if not os.path.isfile(path):
            raise StoreError(f"no results store at {path}; run an experiment first ('loom run FILE') or give its --state directory")
        if frames and _pandas is None:
            raise StoreError("frames=True needs pandas; install it (pip install pandas) or pass frames=False")
        self.path = path
        self.frames = (_pandas is not None) if frames is None else bool(frames)
        self._connection = self._connect(path)
        version = self._connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SUPPORTED_SCHEMA:
            raise StoreError(f"{path} has schema version {version}, newer than this reader knows ({SUPPORTED_SCHEMA}); update loom_reader")
        if version < SUPPORTED_SCHEMA:
            raise StoreError(f"{path} has schema version {version}; run any 'loom runs --state DIR' on it once to upgrade it")

    @staticmethod
    def _connect(path):
        uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"
        try:
            connection = sqlite3.connect(uri, uri=True)
            connection.execute("SELECT 1 FROM sqlite_master LIMIT 1")
            return connection
        except sqlite3.OperationalError:
            # A WAL store in a directory this user cannot write, with no writer active: SQLite
            # cannot create its shared-memory file, so read the file as immutable (as loom does).
            connection = sqlite3.connect(uri + "&immutable=1", uri=True)
            connection.execute("SELECT 1 FROM sqlite_master LIMIT 1")
            return connection

    def close(self):
        self._connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _table(self, rows, columns):
        if self.frames:
            return _pandas.DataFrame(rows, columns=columns)
        return rows

    def experiments(self):
        """The experiments' names, sorted."""
        return [row[0] for row in self._connection.execute("SELECT name FROM experiment ORDER BY name")]

    def _run_rows(self, experiment, latest=False):
        sql = """
            SELECT run.id, experiment.name, run.run_index, run.repetition, run.task, run.status, run.attempt,
                   run.lost_attempts, run.cached_from, run.created_at, run.started_at, run.finished_at,
                   run.cache_key, invocation.git_commit, invocation.git_dirty, invocation.code_commit, run.error
            FROM run JOIN experiment ON experiment.id = run.experiment_id
            LEFT JOIN invocation ON invocation.id = run.invocation_id
        """
        conditions, arguments = [], ()
        if experiment is not None:
            conditions.append("experiment.name = ?")
            arguments = (experiment,)
        if latest:
            conditions.append("run.invocation_id = (SELECT MAX(latest.id) FROM invocation AS latest"
                              " WHERE latest.experiment_id = run.experiment_id)")
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)
        return self._connection.execute(sql + " ORDER BY run.id", arguments).fetchall()

    def params(self, run):
        """A run's parameters, typed as stored (int, float, bool, str)."""
        params = {}
        for name, value, kind in self._connection.execute("SELECT name, value, type FROM param WHERE run_id = ?", (run,)):
            params[name] = _typed(value, kind)
        return params

    def final_metrics(self, run):
        """A run's metrics: the last value stored under each name (numbers as float, text as str)."""
        metrics = {}
        for name, value, text in self._connection.execute(
                "SELECT name, value, text FROM metric WHERE run_id = ? ORDER BY rowid", (run,)):
            if value is not None:
                metrics[name] = float(value)
            elif text is not None:
                metrics[name] = text
        return metrics

    def runs(self, experiment=None, succeeded_only=False, latest=False):
        """One row per run, with the columns of `loom export --format csv`: RUN_COLUMNS, then
        param.NAME and metric.NAME. `succeeded` is True only for runs that computed their result:
        FAILED, LOST and CANCELLED runs may hold partial metrics, and CACHED runs hold none of their
        own (`cached_from` names the run whose result they reuse). Every invocation's runs are
        listed, as `loom export` does; `latest=True` keeps each experiment's last invocation only,
        the one its report shows, so medians do not pool repeated `loom run`s."""
        records, param_names, metric_names = [], set(), set()
        for row in self._run_rows(experiment, latest):
            (run, name, index, repetition, task, status, attempt, lost, cached_from, created, started, finished,
             key, git_commit, git_dirty, code_commit, error) = row
            duration = max(0.0, finished - started) if started is not None and finished is not None else None
            record = {
                "id": run, "experiment": name, "index": index, "repetition": repetition, "task": task, "status": status,
                "succeeded": status == "SUCCEEDED", "attempt": attempt, "lost_attempts": lost, "cached_from": cached_from,
                "created_at": created, "started_at": started, "finished_at": finished, "duration_s": duration,
                "cache_key": key, "git_commit": git_commit, "git_dirty": None if git_dirty is None else bool(git_dirty),
                "code_commit": code_commit, "error": error,
            }
            if succeeded_only and not record["succeeded"]:
                continue
            params, metrics = self.params(run), self.final_metrics(run)
            param_names.update(params)
            metric_names.update(metrics)
            record.update({"param." + k: v for k, v in params.items()})
            record.update({"metric." + k: v for k, v in metrics.items()})
            records.append(record)
        columns = RUN_COLUMNS + ["param." + n for n in sorted(param_names)] + ["metric." + n for n in sorted(metric_names)]
        rows = [{column: record.get(column) for column in columns} for record in records]
        return self._table(rows, columns)

    def curves(self, experiment=None):
        """Every stepped metric in long format: run, step, metric, value; ordered by run, metric,
        step (`loom export --curves`). A CACHED run's curve is under its cached_from run."""
        sql = "SELECT metric.run_id, metric.step, metric.name, metric.value FROM metric"
        arguments = ()
        if experiment is not None:
            sql += (" JOIN run ON run.id = metric.run_id JOIN experiment ON experiment.id = run.experiment_id"
                    " WHERE experiment.name = ? AND")
            arguments = (experiment,)
        else:
            sql += " WHERE"
        sql += " metric.step IS NOT NULL AND metric.value IS NOT NULL ORDER BY metric.run_id, metric.name, metric.step, metric.rowid"
        rows = [{"run": run, "step": step, "metric": name, "value": float(value)}
                for run, step, name, value in self._connection.execute(sql, arguments)]
        return self._table(rows, ["run", "step", "metric", "value"])

    def artifacts(self, experiment=None):
        """Each stored artifact file: run, path (where loom copied it), sha256, bytes, and whether
        the file is still there."""
        sql = ("SELECT artifact.run_id, artifact.path, artifact.sha256, artifact.bytes FROM artifact"
               " JOIN run ON run.id = artifact.run_id JOIN experiment ON experiment.id = run.experiment_id")
        arguments = ()
        if experiment is not None:
            sql += " WHERE experiment.name = ?"
            arguments = (experiment,)
        rows = [{"run": run, "path": path, "sha256": digest, "bytes": size, "exists": os.path.isfile(path)}
                for run, path, digest, size in self._connection.execute(sql + " ORDER BY artifact.run_id, artifact.rowid", arguments)]
        return self._table(rows, ["run", "path", "sha256", "bytes", "exists"])


def _typed(value, kind):
    try:
        if kind == "int":
            return int(value)
        if kind == "double":
            return float(value)
    except ValueError:
        return value
    if kind == "bool":
        return value == "true"
    return value

"""One database login per kind of process (design.md), and where each process finds its URL.

| kind       | setting                 | group      | who                                   |
|------------|-------------------------|------------|---------------------------------------|
| `owner`    | `DATABASE_URL`          | —          | migrations and `bi users` only        |
| `app`      | `APP_DATABASE_URL`      | bi_app     | dashboards + pipeline API             |
| `analyst`  | `ANALYST_DATABASE_URL`  | bi_analyst | Voila / Lab kernels                   |
| `pipeline` | `PIPELINE_DATABASE_URL` | bi_loader  | extract/transform steps, the ledger   |
| `dbt`      | `DBT_DATABASE_URL`      | bi_dbt     | the mart builder                      |

The groups hold the privileges (migration 050); a login is a plain LOGIN member of one group, its name
and password taken from its URL. On an external server a missing URL is a `ConfigError` naming the
variable (a process never falls back to the owner). On the embedded server the logins are generated
with random passwords, kept owner-only (file 0600 in a 0700 folder) in `<data>/logins/logins.json`
beside the cluster. `bi db migrate` creates or updates the logins (`ensure_logins`).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from lib.config import DATABASE_URL_FIELDS, ConfigError, Settings, get_settings
from lib.db.urls import mask, normalise, to_dsn


@dataclass(frozen=True)
class LoginKind:
    """A kind of process and its login: setting, privilege group, name on the embedded default."""

    kind: str
    env: str
    field: str
    group: str
    default_name: str
    who: str


KINDS: dict[str, LoginKind] = {
    k.kind: k
    for k in (
        LoginKind(
            "app",
            "APP_DATABASE_URL",
            "app_database_url",
            "bi_app",
            "bi_app_login",
            "the dashboards and the pipeline API",
        ),
        LoginKind(
            "analyst",
            "ANALYST_DATABASE_URL",
            "analyst_database_url",
            "bi_analyst",
            "bi_analyst_login",
            "the Voila and Lab kernels",
        ),
        LoginKind(
            "pipeline",
            "PIPELINE_DATABASE_URL",
            "pipeline_database_url",
            "bi_loader",
            "bi_pipeline_login",
            "the pipeline steps and the run ledger",
        ),
        LoginKind(
            "dbt", "DBT_DATABASE_URL", "dbt_database_url", "bi_dbt", "bi_dbt_login", "the mart builder (dbt)"
        ),
    )
}
ALIASES = {"loader": "pipeline", "reader": "app"}
ROLES = ("owner", *KINDS, *ALIASES)
GROUPS = ("bi_reader", "bi_app", "bi_analyst", "bi_loader", "bi_dbt")
# Names a login may not take: the groups, the PostgREST roles, Supabase's roles.
RESERVED = frozenset(
    GROUPS + ("api_reader", "web_anon", "authenticator", "anon", "authenticated", "service_role",
              "postgres", "supabase_admin", "supabase_auth_admin", "supabase_storage_admin", "pgbouncer")
)  # fmt: skip
STORE_NAME = "logins.json"


def canonical(role: str) -> str:
    """`owner` or a login kind (the old names `loader` and `reader` map to `pipeline` and `app`)."""
    kind = ALIASES.get(role, role)
    if kind != "owner" and kind not in KINDS:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    return kind


def configured_url(kind: str, settings: Settings | None = None) -> str | None:
    """The login URL set in the environment / `.env` for this kind, if any."""
    value = getattr(settings or get_settings(), KINDS[canonical(kind)].field)
    return None if value is None else value.get_secret_value()


def any_url_configured(settings: Settings | None = None) -> bool:
    """True when DATABASE_URL or a login URL is set: an external server, nothing embedded."""
    settings = settings or get_settings()
    return any(getattr(settings, f) is not None for f in DATABASE_URL_FIELDS)


def with_login(target: str | URL, user: str, password: str | None) -> str:
    """`target` (server, database, options) with another login."""
    u = normalise(target) if isinstance(target, str) else target
    return u.set(username=user, password=password).render_as_string(hide_password=False)


def role_name(user: str, owner_user: str | None) -> str:
    """The role a URL's user logs in as: Supabase's pooler (Supavisor) spells users `<role>.<project
    ref>`, so when the owner's URL carries such a suffix a login's same suffix is not part of its name."""
    if owner_user and "." in owner_user:
        suffix = "." + owner_user.split(".", 1)[1]
        if user.endswith(suffix) and len(user) > len(suffix):
            return user[: -len(suffix)]
    return user


def _pooler_suffix(owner_url: str) -> str:
    user = normalise(owner_url).username or ""
    return "." + user.split(".", 1)[1] if "." in user else ""


def _missing(spec: LoginKind) -> ConfigError:
    return ConfigError(
        f"{spec.env} is not set: {spec.who} connect with a login of their own, never the owner's. "
        f"Set {spec.env}=postgresql://<login>:<password>@<host>:<port>/<database> and run "
        "`bi db migrate` (it creates the login from the URL)."
    )


def login_url(role: str, url: str | None = None) -> str:
    """The URL `role` connects with; `url` names another database (its login stays the role's).

    Order: the role's own setting; else the generated login when the database is on the embedded
    server; else a ConfigError naming the setting. The owner's URL is never a fallback.
    """
    kind = canonical(role)
    if kind == "owner":
        from lib.db.engine import get_database_url

        return url or get_database_url()
    spec = KINDS[kind]
    settings = get_settings()
    own = configured_url(kind, settings)
    if own:
        if url is None:
            return normalise(own).render_as_string(hide_password=False)
        mine = normalise(own)
        return with_login(url, mine.username or "", mine.password)
    from lib.db import embedded

    target = url
    if target is None:
        if settings.database_url is not None:
            target = settings.database_url.get_secret_value()
        elif any_url_configured(settings):
            raise _missing(spec)
        else:
            target = embedded.server_uri(embedded.DATABASE_NAME)
    cluster = embedded.cluster_dir_of(target)
    if cluster is None:
        raise _missing(spec)
    creds = read_store(store_dir(cluster)).get(kind)
    if not creds:
        raise ConfigError(
            f"no {kind} login on the embedded PostgreSQL yet: run `bi db up` (or set {spec.env})"
        )
    return with_login(target, creds["user"], creds["password"])


# --- the embedded default's generated logins -------------------------------------------------------
def store_dir(cluster: Path) -> Path:
    """Where the generated logins of the embedded cluster in `cluster` are kept."""
    return cluster.parent / "logins"


def read_store(folder: Path) -> dict[str, dict[str, str]]:
    """kind -> {user, password} (empty when nothing was generated yet)."""
    try:
        data = json.loads((folder / STORE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict) and v.get("user") and v.get("password")}


def _write_store(folder: Path, data: dict[str, dict[str, str]]) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    tmp = folder / f".{STORE_NAME}.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
    os.chmod(tmp, 0o600)
    os.replace(tmp, folder / STORE_NAME)


def generated_passwords(settings: Settings | None = None) -> list[str]:
    """The embedded default's generated passwords (for the secret scan; never print them)."""
    settings = settings or get_settings()
    return [c["password"] for c in read_store(settings.data_dir / "logins").values()]


# --- creating / updating the logins (as the owner) --------------------------------------------------
@dataclass(frozen=True)
class LoginState:
    """What `ensure_logins` did for one kind: created, updated, unchanged, or missing (no URL)."""

    spec: LoginKind
    user: str | None
    action: str
    url: str | None = None  # the login's URL, password included: print only through `mask`


def _role(cur, name: str) -> dict | None:  # psycopg2 cursor
    cur.execute(
        "SELECT rolsuper, rolbypassrls, rolreplication, rolcreaterole, rolcreatedb, rolcanlogin, rolinherit "
        "FROM pg_catalog.pg_roles WHERE rolname = %s",
        (name,),
    )
    row = cur.fetchone()
    keys = ("super", "bypassrls", "replication", "createrole", "createdb", "login", "inherit")
    return None if row is None else dict(zip(keys, row, strict=True))


def _memberships(cur, name: str) -> set[str]:
    cur.execute(
        "SELECT g.rolname FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid "
        "WHERE m.member = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = %s)",
        (name,),
    )
    return {r[0] for r in cur.fetchall()}


def _sync_login(conn, spec: LoginKind, name: str, password: str, *, set_password: bool) -> str:
    """Create or fix one login: LOGIN INHERIT, no elevated attribute, member of its group only."""
    import psycopg2
    from psycopg2 import sql
    from psycopg2.extensions import encrypt_password

    ident = sql.Identifier(name)
    # The server gets a SCRAM verifier, never the password itself (statement logs, pg_stat_activity).
    verifier = sql.Literal(encrypt_password(password, name, conn, "scram-sha-256"))
    action = "unchanged"
    with conn.cursor() as cur:
        attrs = _role(cur, name)
        if attrs is None:
            try:
                cur.execute(
                    sql.SQL("CREATE ROLE {} LOGIN INHERIT NOCREATEDB NOCREATEROLE PASSWORD {}").format(
                        ident, verifier
                    )
                )
                action = "created"
            except (psycopg2.errors.DuplicateObject, psycopg2.errors.UniqueViolation):
                set_password = True  # created concurrently by another migrator: make the password ours
            attrs = _role(cur, name)
        elevated = [k for k in ("super", "bypassrls", "replication") if attrs and attrs[k]]
        if elevated:
            cur.execute("SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user")
            if not cur.fetchone()[0]:
                raise ConfigError(
                    f"login {name} ({spec.env}) has {', '.join(a.upper() for a in elevated)}: an application "
                    "login must not; a superuser must run ALTER ROLE "
                    f"{name} NOSUPERUSER NOBYPASSRLS NOREPLICATION"
                )
            cur.execute(sql.SQL("ALTER ROLE {} NOSUPERUSER NOBYPASSRLS NOREPLICATION").format(ident))
            action = "updated"
        if attrs and (attrs["createrole"] or attrs["createdb"] or not attrs["login"] or not attrs["inherit"]):
            cur.execute(sql.SQL("ALTER ROLE {} LOGIN INHERIT NOCREATEDB NOCREATEROLE").format(ident))
            action = "updated"
        if set_password and action != "created":
            cur.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(ident, verifier))
            action = "updated"
        member_of = _memberships(cur, name)
        for other in sorted(member_of - {spec.group}):
            try:
                cur.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(other), ident))
            except psycopg2.Error as exc:
                raise ConfigError(
                    f"login {name} ({spec.env}) is a member of role {other} and it could not be revoked: "
                    f"{exc.pgerror or exc}"
                ) from None
            action = "updated"
        if spec.group not in member_of:
            try:
                cur.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(spec.group), ident))
            except psycopg2.errors.UniqueViolation:
                pass  # granted concurrently
            if action == "unchanged":
                action = "updated"
    return action


def ensure_logins(owner_url: str) -> list[LoginState]:
    """Create or update every login whose URL is known (set, or generated on the embedded server).

    Run by `lib.db.migrate` as the owner after the migration files (the groups must exist).
    """
    import psycopg2

    from lib.db import embedded

    settings = get_settings()
    cluster = embedded.cluster_dir_of(owner_url)
    store = read_store(store_dir(cluster)) if cluster else {}
    owner_user = normalise(owner_url).username
    wanted: list[tuple[LoginKind, str | None, str | None, bool]] = []
    generated = False
    for spec in KINDS.values():
        own = configured_url(spec.kind, settings)
        if own:
            u = normalise(own)
            if not u.username or not u.password:
                raise ConfigError(f"{spec.env} must name a login and its password")
            # the same login the embedded store holds (a scratch database's env): nothing to reset
            same = cluster is not None and store.get(spec.kind) == {
                "user": u.username,
                "password": u.password,
            }
            wanted.append((spec, role_name(u.username, owner_user), u.password, not same))
        elif cluster is not None:
            creds = store.get(spec.kind)
            fresh = not creds
            if fresh:
                creds = {"user": spec.default_name, "password": secrets.token_urlsafe(24)}
                store[spec.kind] = creds
                generated = True
            wanted.append((spec, creds["user"], creds["password"], fresh))
        else:
            wanted.append((spec, None, None, False))
    names = [w[1] for w in wanted if w[1]]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        raise ConfigError(f"login {dup} is named by more than one *_DATABASE_URL: each kind needs its own")
    if generated and cluster is not None:
        _write_store(store_dir(cluster), store)  # before the roles: a crash cannot lose a password
    states: list[LoginState] = []
    conn = psycopg2.connect(to_dsn(owner_url), application_name="indigitall-bi:logins")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT current_user")
            owner = cur.fetchone()[0]
        for spec, name, password, set_password in wanted:
            if name is None or password is None:
                states.append(LoginState(spec, None, "missing"))
                continue
            if name == owner or name in RESERVED:
                raise ConfigError(
                    f"{spec.env} names the role {name}: a login must be a role of its own "
                    "(not the owner, a privilege group or a Supabase role)"
                )
            action = _sync_login(conn, spec, name, password, set_password=set_password)
            shown = name + _pooler_suffix(owner_url)  # the user as the URL spells it
            states.append(LoginState(spec, name, action, with_login(owner_url, shown, password)))
    finally:
        conn.close()
    return states


def describe(states: list[LoginState], owner_url: str) -> list[str]:
    """Lines for `bi db up|migrate`: each login's URL with its password hidden, or how to create it."""
    lines: list[str] = []
    o = normalise(owner_url)
    where = f"{o.host or 'localhost'}{f':{o.port}' if o.port else ''}/{o.database or ''}"
    for st in states:
        if st.url:
            lines.append(f"{st.spec.env}={mask(st.url)}  ({st.spec.who}; login {st.user} {st.action})")
            continue
        example = f"postgresql://{st.spec.default_name}{_pooler_suffix(owner_url)}:<password>@{where}"
        lines.append(
            f"{st.spec.env} is not set: no login for {st.spec.who}. Set {st.spec.env}={example} "
            f"(a password of your own) and run `bi db migrate` again; it creates {st.spec.default_name} "
            f"as a member of {st.spec.group} and sets its password from the URL."
        )
    return lines

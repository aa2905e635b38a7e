"""Database URL helpers: driver normalisation, masking, libpq DSNs."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url


def normalise(url: str) -> URL:
    """A SQLAlchemy URL using psycopg2 (accepts postgres://, postgresql://, postgresql+psycopg2://)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg2")
    return u


def mask(url: str | URL) -> str:
    """The URL with its password replaced by ***, safe to print."""
    u = normalise(url) if isinstance(url, str) else url
    return u.render_as_string(hide_password=True)


def to_dsn(url: str | URL) -> str:
    """A libpq connection string (for psycopg2.connect and command-line tools)."""
    u = normalise(url) if isinstance(url, str) else url
    parts = []
    host = u.host or u.query.get("host")
    if isinstance(host, tuple):
        host = host[0]
    for key, value in (
        ("host", host),
        ("port", u.port),
        ("dbname", u.database),
        ("user", u.username),
        ("password", u.password),
    ):
        if value not in (None, ""):
            v = str(value).replace("\\", "\\\\").replace("'", "\\'")
            parts.append(f"{key}='{v}'")
    return " ".join(parts)


def with_database(url: str | URL, database: str) -> str:
    """The same server, another database (as a string with the password kept)."""
    u = normalise(url) if isinstance(url, str) else url
    return u.set(database=database).render_as_string(hide_password=False)

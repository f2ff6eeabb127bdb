"""A Telegram webhook receiver written the usual FastAPI way: the peer of ``ack_bench``.

``POST /webhook/{secret}`` checks the path secret and the ``X-Telegram-Bot-Api-Secret-Token``
header, validates the body as a Telegram Update (pydantic), inserts one row per Update into
``updates`` (``update_id`` unique: a redelivery answers 200 and stores nothing) and answers
``{"ok": true, "update_id": N}``. One AsyncSession per request, one commit per request, on a
SQLAlchemy 2 async engine over aiosqlite. ``GET /healthz`` answers ``{"ok": true}``.

The SQLite file is configured as the product configures its own (``config/env.py``): WAL,
``synchronous=NORMAL``, a 20 s busy timeout and ``BEGIN IMMEDIATE`` transactions.

Environment: ``PEER_DB_PATH`` (the SQLite file, created with its table at start-up;
default ``peer.sqlite3``), ``PEER_WEBHOOK_SECRET`` (the path segment) and
``PEER_SECRET_TOKEN`` (the header's value).

Run: ``PEER_DB_PATH=/tmp/peer.sqlite3 .venv/bin/python -m uvicorn
benchmarks.peers.fastapi_telegram:app --host 127.0.0.1 --port 8100``
"""

from __future__ import annotations

import hmac
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, BigInteger, Text, event
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DB_PATH = os.environ.get("PEER_DB_PATH", "peer.sqlite3")
WEBHOOK_SECRET = os.environ.get("PEER_WEBHOOK_SECRET", "peer-webhook")
SECRET_TOKEN = os.environ.get("PEER_SECRET_TOKEN", "peer-secret-token")

# Same connection settings as the product's SQLite (config/env.py: SQLITE_OPTIONS).
engine = create_async_engine(
    f"sqlite+aiosqlite:///{DB_PATH}",
    connect_args={"timeout": 20, "isolation_level": "IMMEDIATE"},
)


@event.listens_for(engine.sync_engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


class StoredUpdate(Base):
    __tablename__ = "updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    update_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    message_id: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)


# The parts of https://core.telegram.org/bots/api#update this receiver reads; the rest of
# the Update is kept as sent, in ``raw``.
class TelegramModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class User(TelegramModel):
    id: int
    is_bot: bool
    first_name: str


class Chat(TelegramModel):
    id: int
    type: str


class Message(TelegramModel):
    message_id: int
    date: int
    chat: Chat
    from_: User | None = Field(default=None, alias="from")
    text: str | None = None


class Update(TelegramModel):
    update_id: int
    message: Message | None = None


class Ack(BaseModel):
    ok: bool = True
    update_id: int


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield
    await engine.dispose()


app = FastAPI(title="Telegram webhook peer", lifespan=lifespan)


async def get_session() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


@app.get("/healthz")
async def healthz() -> dict[str, bool]:
    return {"ok": True}


@app.post("/webhook/{secret}")
async def telegram_webhook(
    secret: str,
    update: Update,
    session: Annotated[AsyncSession, Depends(get_session)],
    x_telegram_bot_api_secret_token: Annotated[str | None, Header()] = None,
) -> Ack:
    if not _same(secret, WEBHOOK_SECRET):
        raise HTTPException(status_code=404, detail="unknown webhook")
    if not _same(x_telegram_bot_api_secret_token, SECRET_TOKEN):
        raise HTTPException(status_code=403, detail="wrong secret token")
    message = update.message
    if message is not None:
        statement = (
            insert(StoredUpdate)
            .values(
                update_id=update.update_id,
                chat_id=message.chat.id,
                message_id=message.message_id,
                text=message.text,
                raw=update.model_dump(mode="json", by_alias=True, exclude_unset=True),
            )
            .on_conflict_do_nothing(index_elements=["update_id"])
        )
        await session.execute(statement)
        await session.commit()
    return Ack(update_id=update.update_id)

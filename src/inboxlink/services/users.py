"""Accounts, users, logins and API tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.clock import as_utc
from inboxlink.domain.enums import Role
from inboxlink.domain.permissions import Actor
from inboxlink.errors import AppError, Conflict
from inboxlink.mail.address import parse_email
from inboxlink.mail.headers import normalize_email
from inboxlink.security.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from inboxlink.security.tokens import API_TOKEN_PREFIX, new_token, token_hash
from inboxlink.store.tables import Account, ApiToken, LoginSession, User

SESSION_LIFETIME = timedelta(days=14)
#: How exactly an API token's "last used" time is kept.
TOKEN_USE_PRECISION = timedelta(minutes=1)


def actor_of(user: User) -> Actor:
    return Actor(user_id=user.id, account_id=user.account_id, role=Role(user.role))


async def needs_setup(session: AsyncSession) -> bool:
    """True until the first account exists (first-run set-up)."""
    return not await session.scalar(select(func.count()).select_from(Account))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AppError(
            "weak_password",
            f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters.",
            status=422,
        )


def check_email(email: str) -> str:
    """The address in the form inboxlink stores it (validated, lower-case)."""
    return parse_email(email).address.lower()


async def create_account(
    session: AsyncSession, *, account_name: str, email: str, password: str, name: str = ""
) -> User:
    """First-run set-up: the account and its first super admin. Refused once set up."""
    if not await needs_setup(session):
        raise Conflict("already_set_up", "inboxlink is already set up. Sign in instead.")
    account = Account(name=account_name.strip() or "My company")
    session.add(account)
    await session.flush()
    return await _add_user(session, account.id, email, password, Role.SUPER_ADMIN, name)


async def create_user(
    session: AsyncSession, *, account_id: int, email: str, password: str, role: Role, name: str = ""
) -> User:
    return await _add_user(session, account_id, email, password, role, name)


async def _add_user(
    session: AsyncSession, account_id: int, email: str, password: str, role: Role, name: str
) -> User:
    email = check_email(email)
    _check_password(password)
    if await session.scalar(select(User.id).where(User.email == email)):
        raise Conflict("user_exists", f"A user with the address {email} already exists.")
    user = User(
        account_id=account_id,
        email=email,
        name=name.strip() or email.partition("@")[0],
        password_hash=hash_password(password),
        role=role.value,
    )
    session.add(user)
    await session.flush()
    return user


async def first_account_id(session: AsyncSession) -> int:
    account_id = await session.scalar(select(Account.id).order_by(Account.id).limit(1))
    if account_id is None:
        raise AppError("not_set_up", "inboxlink is not set up yet: open it in a browser first.")
    return account_id


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == normalize_email(email)))


async def authenticate(session: AsyncSession, email: str, password: str) -> User:
    user = await user_by_email(session, email)
    if user is None or not verify_password(user.password_hash, password):
        raise AppError(
            "login_failed", "The email address or password is not right. Try again.", status=401
        )
    return user


async def start_session(session: AsyncSession, user: User) -> str:
    token = new_token()
    session.add(
        LoginSession(
            user_id=user.id,
            token_hash=token_hash(token),
            expires_at=datetime.now(UTC) + SESSION_LIFETIME,
        )
    )
    await session.flush()
    return token


async def end_session(session: AsyncSession, token: str) -> None:
    row = await session.scalar(
        select(LoginSession).where(LoginSession.token_hash == token_hash(token))
    )
    if row is not None:
        await session.delete(row)


async def user_for_session(session: AsyncSession, token: str) -> User | None:
    row = await session.scalar(
        select(LoginSession).where(LoginSession.token_hash == token_hash(token))
    )
    if row is None or as_utc(row.expires_at) < datetime.now(UTC):
        return None
    return await session.get(User, row.user_id)


async def create_api_token(session: AsyncSession, user: User, name: str = "") -> str:
    token = new_token(API_TOKEN_PREFIX)
    session.add(ApiToken(user_id=user.id, token_hash=token_hash(token), name=name))
    await session.flush()
    return token


async def user_for_api_token(session: AsyncSession, token: str) -> User | None:
    row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    if row is None:
        return None
    now = datetime.now(UTC)
    # To the minute: writing it on every call made each API request a write transaction,
    # which on SQLite queued behind (and delayed) sync and outbox writes (bench send row).
    if row.last_used_at is None or now - as_utc(row.last_used_at) >= TOKEN_USE_PRECISION:
        row.last_used_at = now
    return await session.get(User, row.user_id)

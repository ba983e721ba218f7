"""Users of a workspace. Admin operations grow here."""

from __future__ import annotations

from gateway.errors import Conflict, ValidationFailed, field_error
from gateway.passwords import Passwords
from storage.documents import Role, User
from storage.workspace import WorkspaceStore

MIN_PASSWORD_LENGTH = 8


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def create_user_in(
    ws: WorkspaceStore, passwords: Passwords, *, email: str, password: str, role: Role, name: str | None = None
) -> User:
    """Create a user without a permission check: for the bootstrap admin, the CLI and admin services."""
    email = normalize_email(email)
    if "@" not in email:
        raise ValidationFailed("Invalid email.", details=[field_error("email", "Not an email address.")])
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            "Password too short.",
            details=[field_error("password", f"At least {MIN_PASSWORD_LENGTH} characters.")],
        )
    model = ws.model(User)
    if await model.find_one(model.email == email) is not None:
        raise Conflict(f"A user with email '{email}' already exists.", details=[field_error("email", "Taken.")])
    user = model(email=email, password_hash=passwords.hash(password), role=role, name=name)
    await user.insert()
    return user


async def ensure_bootstrap_admin(
    ws: WorkspaceStore, passwords: Passwords, email: str | None, password: str | None
) -> bool:
    """Create the configured admin when the workspace has no user at all. True when created."""
    if not email or not password:
        return False
    model = ws.model(User)
    if await model.find_one() is not None:
        return False
    await create_user_in(ws, passwords, email=email, password=password, role=Role.admin, name="Administrator")
    return True

"""Reading and writing user profiles (birth date or minor flag)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from gametime.api.dependencies import BackendDep, UserIdPath
from gametime.api.schemas import ProfileIn, ProfileOut
from gametime.api.security import Scope, requires
from gametime.domain.profiles import Profile

router = APIRouter(
    prefix="/v1/users/{user_id}", tags=["profiles"], dependencies=requires(Scope.ADMIN)
)


@router.put("/profile", response_model=ProfileOut)
async def put_profile(
    user_id: UserIdPath, profile: ProfileIn, backend: BackendDep
) -> ProfileOut:
    """Create or replace a profile: give a birth date, or a minor flag."""
    stored = Profile(user_id, profile.birth_date, profile.minor)
    await backend.profiles.put_profile(stored)
    return ProfileOut(user_id=user_id, birth_date=stored.birth_date, minor=stored.minor)


@router.get("/profile", response_model=ProfileOut)
async def get_profile(user_id: UserIdPath, backend: BackendDep) -> ProfileOut:
    profile = await backend.profiles.get_profile(user_id)
    if profile is None:
        raise HTTPException(404, f"no profile for user_id {user_id!r}")
    return ProfileOut(
        user_id=user_id, birth_date=profile.birth_date, minor=profile.minor
    )

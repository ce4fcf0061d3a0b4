"""The tasks page: suggestions from inbox automation to accept or dismiss, and open tasks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from inboxlink.automation.suggestions import TaskState, decide, list_tasks
from inboxlink.web.deps import Db
from inboxlink.web.pages.common import SignedIn, check_csrf, redirect, render

router = APIRouter()

DECISIONS = ("accept", "dismiss", "done")


@router.get("/tasks")
async def tasks(request: Request, page: SignedIn, db: Db) -> Response:
    context = page.template_values(
        suggested=await list_tasks(db, page.actor, TaskState.SUGGESTED),
        open_tasks=await list_tasks(db, page.actor, TaskState.OPEN),
        section="tasks",
    )
    return render(request, "tasks.html", context)


@router.post("/tasks/{task_id}/{decision}")
async def decide_task(
    request: Request,
    task_id: int,
    decision: str,
    page: SignedIn,
    db: Db,
    csrf_token: Annotated[str, Form(max_length=200)],
) -> Response:
    check_csrf(request, csrf_token)
    if decision not in DECISIONS:
        raise HTTPException(404)
    await decide(db, page.actor, task_id, decision)
    return redirect("/tasks")

"""Demo scenes of attendance: HR's schedule (a slice of the sample file), the host's code and
QR, check-ins on time, late and with a wrong code, an early leave, a check-out, the absentee
recorded when the roll call closes, and the leader's roll."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.resources
import io

from bot.demo.play import Demo
from bot.demo.scenes import Scene

ORDER = 10
# The sample schedule's first group study (第一组, 15:30-17:30, hosted by M002).
SAMPLE_ID = "G001"



def _sample_row() -> dict[str, str]:
    text = importlib.resources.files("bot.samples").joinpath("schedule.csv").read_text("utf-8-sig")
    return next(r for r in csv.DictReader(io.StringIO(text)) if r["activity_id"] == SAMPLE_ID)


async def _import(demo: Demo) -> dt.datetime:
    """Imports G001, moved to a later day if the demo clock has passed its opening."""
    from bot.activities.importer import run_import
    from bot.app import services_of
    from bot.documents.tables import TableRow

    row = _sample_row()
    tz = demo.clock.tz
    start = dt.datetime.fromisoformat(row["start"]).replace(tzinfo=tz)
    end = dt.datetime.fromisoformat(row["end"]).replace(tzinfo=tz)
    days = 0
    while start + dt.timedelta(days=days) - dt.timedelta(hours=1) < demo.clock.now():
        days += 1
    shift = dt.timedelta(days=days)
    row["start"] = f"{start + shift:%Y-%m-%d %H:%M}"
    row["end"] = f"{end + shift:%Y-%m-%d %H:%M}"
    services = services_of(demo.app)
    result, problems = await run_import(
        services.db, services.config, [TableRow(2, row)], demo.clock.now(),
        services.config.program.language,
    )
    assert result is not None, problems
    await demo.flush()
    return start + shift


async def _code(demo: Demo, host_id: str) -> str:
    """The host sends /code: a QR photo, then the code on its own; returns the code."""
    host = demo.person(host_id)
    await host.ask("/code")
    number = await host.next_message()
    return number.text


async def scene_checkin(demo: Demo) -> None:
    """HR imports 第一组's first group study; the group hears of it. At the activity the host
    shows the code; trainees check in on time, with a wrong code, late; one leaves early, the
    leader checks out normally, one never comes and is recorded absent when the roll closes."""
    leader, host, ontime, late, absent = "M001", "M002", "M003", "M004", "M005"
    await demo.register(leader, host, ontime, late, absent)
    start = await _import(demo)
    await demo.person(host).ask("/upcoming")

    demo.clock.set(start - dt.timedelta(minutes=25))
    code = await _code(demo, host)
    await demo.person(host).ask(f"/checkin {code}")
    await demo.person(ontime).ask(f"/checkin {code}")
    await demo.person(leader).ask("/checkin")
    await demo.person(leader).ask(code)

    demo.clock.set(start + dt.timedelta(minutes=8))
    wrong = "000000" if code != "000000" else "111111"
    await demo.person(late).ask(f"/checkin {wrong}")
    code = await _code(demo, host)
    await demo.person(late).ask(code)

    demo.clock.set(start + dt.timedelta(hours=1))
    trainee = demo.person(ontime)
    question = await trainee.ask("/checkout")
    edits = question.edits
    await trainee.press(question, question.button_texts[0])
    # The button is answered first and handled after: wait for the result before time moves on.
    await demo.sandbox.wait_for_bot_message(
        question.chat_id, lambda e: e is question and e.edits > edits,
        after=question.message_id - 1,
    )

    demo.clock.set(start + dt.timedelta(hours=1, minutes=50))
    await demo.person(leader).ask("/checkout")

    await demo.tick(minutes=11)  # the end passes: the roll call closes
    await demo.person(leader).ask("/attendance")
    await demo.person(absent).ask("/attendance")


SCENES: list[Scene] = [scene_checkin]

"""Authorization matrix: every command and every button, for each kind of actor.

Allowed commands answer; the others are refused politely (no apology) and change no data.
Forged button presses get an answer and change no data. Real buttons (with the real ids of a
pending leave request, a submission awaiting review, an exit proposal, an activity, a member, a
report being filed) harvested from the chats of the people they were sent to, pressed by
everyone else: refused, nothing changes; the rightful press still works afterwards.

"Nothing changes" is a snapshot of the content of every table (all columns, by primary key),
except the tables listed in VOLATILE, which change on any update by design.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import re
from pathlib import Path

import pytest

from bot import features
from bot.core import commands
from bot.credits.importer import import_file
from bot.documents.tables import read_table
from bot.reading.books import COLUMNS as BOOK_COLUMNS
from bot.reading.books import import_books, validate_books
from bot.sandbox.client import Entry, SandboxUser
from storage import activities as activities_repo
from storage import attendance as attendance_repo
from storage import members as members_repo
from storage.db import open_database, ts
from tests.helpers import (
    SMALL_ROSTER,
    T0,
    Harness,
    edited,
    import_schedule,
    running_bot,
    said,
    settled,
    text_of,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_BOOKS = ROOT / "bot" / "samples" / "books.csv"
# Tables left out of the snapshot: they change on any update, refused or not (every other table
# of storage/migrations/*.sql is compared, column by column).
VOLATILE = {
    "outbox": "every reply and notification queued, and the sender's delivery marks",
    "inbox": "every update is stored before it is handled and deleted after",
    "inbox_offset": "the getUpdates offset, written with every batch",
    "audit_log": "an append-only log; refusals may be recorded there",
    "code_attempts": "registration attempts, recorded for whoever types a code",
    "credit_dirty": "change marks written by triggers, emptied by the credit sync",
    "credit_sync_state": "when and with which rules the credit sync last ran (a view runs it)",
    "sqlite_sequence": "SQLite's AUTOINCREMENT counters (none today; here should one come)",
    "dialogs": "the saved question a user is answering (a leader's /schedule button opens one)",
}
APOLOGY = text_of("error.apology")
ROLE_OF = {"T1": "trainee", "L2": "leader", "L1": "leader", "H1": "hr", "T2": "trainee"}


def all_commands() -> list[str]:
    for name in features.handler_modules():
        importlib.import_module(name)
    names = {c.name for role in commands.ALL_ROLES for c in commands.for_role(role)}
    return sorted(names)


def allowed(role: str) -> set[str]:
    all_commands()
    return {c.name for c in commands.for_role(role)}  # type: ignore[arg-type]


def _bot_prefix(module: str) -> str:
    """The PREFIX of bot module `module` (dotted under bot, or a bare module name)."""
    if "." in module:
        paths = [ROOT / "bot" / (module.replace(".", "/") + ".py")]
    else:
        paths = sorted((ROOT / "bot").rglob(f"{module}.py"))
    for path in paths:
        found = re.search(r'^PREFIX = "(\w+)"', path.read_text(encoding="utf-8"), re.M)
        if found:
            return found.group(1)
    raise AssertionError(module)


def callback_table() -> dict[str, list[str]]:
    """{prefix: actions} read from handlers/*.py: every callbacks.pattern(...) target, with the
    actions its module compares against, encodes or dispatches on."""
    table: dict[str, list[str]] = {}
    for path in sorted((ROOT / "handlers").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        names: dict[str, str] = {}
        for name, lit in re.findall(r'^(\w+) = "(\w+)"$', text, re.M):
            names[name] = lit
        for name, module in re.findall(r"^(\w+) = (\w+)\.PREFIX$", text, re.M):
            names[name] = _bot_prefix(module)
        for module, imported in re.findall(r"^from bot\.([\w.]+) import (.*)$", text, re.M):
            if re.search(r"\bPREFIX\b", imported):
                names["PREFIX"] = _bot_prefix(module)
        actions = {
            *re.findall(r'action [!=]= "(\w+)"', text),  # if cb.action == "ok"
            *re.findall(r'encode\(\w+, "(\w+)"', text),  # callbacks.encode(PREFIX, "pick", ..)
            # {"menu": _show_menu, "sub": filing.step_button, ...}.get(cb.action)
            *re.findall(r'"(\w+)": (?:\w+\.)?_?[a-z]\w*', text),
        }
        for target in re.findall(r"callbacks\.pattern\(([^)]*)\)", text):
            target = target.strip()
            prefix = target.strip("\"'") if target[:1] in "\"'" else names[target]
            table.setdefault(prefix, [])
            table[prefix] = sorted({*table[prefix], *actions, "x"})
    return table


Snapshot = dict[str, dict[tuple[object, ...], dict[str, object]]]


async def snapshot(h: Harness) -> Snapshot:
    """{table: {primary key: row}} of every table but the VOLATILE ones, once the bot is idle."""
    await settled(h)
    out: Snapshot = {}
    async with h.services.db.read() as conn:
        tables = [str(r[0]) for r in await conn.execute_fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for table in tables:
            if table in VOLATILE:
                continue
            info = list(await conn.execute_fetchall(f"PRAGMA table_info({table})"))
            columns = [str(c[1]) for c in info]
            pk = [str(c[1]) for c in sorted(info, key=lambda c: int(c[5])) if int(c[5])]
            key = pk or columns
            rows = await conn.execute_fetchall(
                f"SELECT * FROM {table} ORDER BY {', '.join(key)}")
            out[table] = {
                tuple(row[columns.index(k)] for k in key): dict(zip(columns, row, strict=True))
                for row in rows
            }
    return out


def differences(before: Snapshot, after: Snapshot) -> list[str]:
    """What changed, table by table, row by row (column by column for an updated row)."""
    lines: list[str] = []
    for table in sorted({*before, *after}):
        old, new = before.get(table, {}), after.get(table, {})
        for key in sorted({*old, *new}, key=repr):
            if key not in old:
                lines.append(f"{table} {key!r}: inserted {new[key]}")
            elif key not in new:
                lines.append(f"{table} {key!r}: deleted {old[key]}")
            elif old[key] != new[key]:
                was, now = old[key], new[key]
                changed = {c: (was[c], now.get(c)) for c in was if was[c] != now.get(c)}
                lines.append(f"{table} {key!r}: updated {changed}")
    return lines


async def test_the_volatile_tables_exist(tmp_path: Path) -> None:
    """The list above names real tables (a renamed one would silently be compared again, a
    misspelt one would hide nothing), and leaves most of the schema in the snapshot."""
    db = await open_database(tmp_path / "schema.sqlite3")
    try:
        rows = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    finally:
        await db.close()
    tables = {str(r[0]) for r in rows}
    named = set(VOLATILE) - {"sqlite_sequence"}  # SQLite makes it with the first AUTOINCREMENT
    assert named <= tables, named - tables
    assert {"members", "leave_requests", "reading_submissions", "exit_proposals",
            "activities", "attendance", "reports", "credit_ledger"} <= tables - set(VOLATILE)


async def make_actor(h: Harness, actor: str) -> SandboxUser:
    if actor == "unregistered":
        return h.new_user("陌生人")
    if actor == "exited":
        user = await h.register("T2")
        async with h.services.db.tx() as conn:
            await conn.execute("UPDATE members SET active = 0 WHERE member_id = 'T2'")
        return user
    return await h.register(actor)


async def run_command(user: SandboxUser, command: str) -> list[str]:
    """Sends /command, then /cancel; returns every bot text that arrived in between."""
    user.skip_pending()
    sent = await user.send(f"/{command}")
    await user.next_message(timeout=5)
    await user.ask("/cancel", timeout=5)
    texts = [e.text or "" for e in user.messages() if e.message_id > sent.message_id]
    user.skip_pending()
    return texts


ACTORS = ["unregistered", "T1", "L2", "L1", "H1", "exited"]


@pytest.mark.parametrize("actor", ACTORS)
async def test_every_command_for_every_actor(tmp_path: Path, actor: str) -> None:
    names = all_commands()
    assert {"start", "help", "me", "cancel"} <= set(names)
    permitted = allowed(ROLE_OF[actor]) if actor in ROLE_OF else set()
    problems: list[str] = []
    async with running_bot(tmp_path) as h:
        user = await make_actor(h, actor)
        for name in names:
            before = await snapshot(h)
            texts = await run_command(user, name)
            first = texts[0] if texts else ""
            refused = name not in permitted
            if actor == "unregistered":
                if name != "start" and not said(first, "register.how_to"):
                    problems.append(f"/{name}: not the how-to answer: {first!r}")
            elif actor == "exited":
                if not said(first, "register.inactive"):
                    problems.append(f"/{name}: not the deactivated answer: {first!r}")
            elif any(APOLOGY in t for t in texts):
                problems.append(f"/{name}: apology instead of a refusal: {texts!r}")
            if refused or actor in ("unregistered", "exited"):
                changed = differences(before, await snapshot(h))
                if changed:
                    problems.append(f"/{name}: data changed: {changed}")
    assert problems == [], "\n".join(problems)


CALLBACKS = callback_table()


def test_callback_table_found_every_prefix() -> None:
    assert {"adm", "ann", "att", "cr", "exit", "lang", "leave", "rd", "rem", "rep", "sch"} <= set(
        CALLBACKS
    )


@pytest.mark.parametrize("actor", ["T1", "L2"])
async def test_forged_buttons_change_nothing(tmp_path: Path, actor: str) -> None:
    problems: list[str] = []
    async with running_bot(tmp_path) as h:
        user = await make_actor(h, actor)
        message = user.last()
        for prefix, actions in sorted(CALLBACKS.items()):
            for action in actions:
                data = f"{prefix}:{action}:999999"
                before = await snapshot(h)
                answer = await user.press_data(message, data, timeout=5)
                if APOLOGY in (answer.text or ""):
                    problems.append(f"{data}: apology {answer.text!r}")
                changed = differences(before, await snapshot(h))
                if changed:
                    problems.append(f"{data}: data changed: {changed}")
        user.skip_pending()
        texts = [e.text or "" for e in user.messages()]
        if any(APOLOGY in t for t in texts):
            problems.append(f"an apology was sent: {texts!r}")
    assert problems == [], "\n".join(problems)


# -- real buttons, pressed by the wrong people ---------------------------------------------------

SCHEDULE = (
    "G1,group_study,读书交流,第一组,2026-03-02 15:00,2026-03-02 17:00,会议室,,,T1",
    "C1,collective,集中培训,,2026-03-03 09:00,2026-03-03 11:00,礼堂,,,",
    "G2,group_study,课例研讨,第二组,2026-03-02 15:00,2026-03-02 17:00,二组会议室,,,T3",
)
FORGED = text_of("error.forged")
# How a refusal reads: the forged-button alert, or for a leave confirmation (its data names
# the activity, the draft is the presser's own dialog) that the presser's draft has expired.
REFUSALS = {FORGED, text_of("leave.ask.stale")}
PEOPLE = ("L1", "T1", "T2", "L2", "T3", "H1")
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
REFLECTION = "读了这本书，我对课堂教学有了新的认识。" * 20


@dataclasses.dataclass(frozen=True)
class Button:
    owner: str  # whose chat it was shown in
    label: str
    data: str
    message: Entry


def buttons_of(owner: str, user: SandboxUser) -> list[Button]:
    """Every button ever shown in the owner's chat (current and edited-away keyboards)."""
    found: dict[str, Button] = {}
    for entry in user.messages():
        markups = [entry.raw.get("reply_markup") or {}, *entry.past_keyboards]
        for markup in markups:
            for row in markup.get("inline_keyboard", []):
                for b in row:
                    data = str(b.get("callback_data") or "")
                    if data:
                        found.setdefault(data, Button(owner, str(b.get("text")), data, entry))
    return list(found.values())


async def with_buttons(user: SandboxUser, text: str, data: str) -> Entry:
    """Sends `text`; the answer with a button whose data contains `data` (a notification
    delivered meanwhile is passed over)."""
    return await user.ask(text, predicate=lambda e: data in str(e.buttons))


async def press_prefix(user: SandboxUser, message: Entry, prefix: str) -> None:
    """Presses the first button whose data starts with `prefix`; waits for what it does."""
    data = next(value for _, value in message.buttons if value.startswith(prefix))
    answer = await user.press_data(message, data)
    assert not answer.show_alert, (data, answer.text)


async def past_activity(h: Harness) -> None:
    """A closed activity of 第一组 three days ago (hosted by T1) with its roll call."""
    start = T0 - dt.timedelta(days=3)
    pks = {m: await pk_of(h, m) for m in ("L1", "T1", "T2")}
    async with h.services.db.tx() as conn:
        pk = await activities_repo.insert(
            conn, activity_id="P1", type="group_study", title="往期交流", group_id=1,
            start_at=ts(start), end_at=ts(start + dt.timedelta(hours=2)), location="",
            lat=None, lon=None, radius_m=None, host_pk=pks["T1"], secret="s",
            source="import", created_by=None, now=ts(T0),
            closed_at=ts(start + dt.timedelta(hours=2)),
        )
        for m, status in (("T1", "present"), ("T2", "absent"), ("L1", "late")):
            await attendance_repo.check_in(conn, pk, pks[m], status, ts(start), "code")


async def leave_request(h: Harness, user: SandboxUser, activity_id: str) -> Entry:
    """/leave <activity>, a reason, the confirming tap: the confirmation (with Withdraw)."""
    await user.ask(f"/leave {activity_id}")
    confirm = await user.ask("家中有事")
    await user.press(confirm, "✅ 确认提交")
    done = await edited(h, confirm, 1)
    assert said(done.text, "leave.ask.sent"), done.text
    return done


async def build_state(h: Harness, tmp_path: Path) -> dict[str, SandboxUser]:
    """Everyone registered; then real things waiting for someone's decision."""
    entries, problems = validate_books(read_table(SAMPLE_BOOKS, BOOK_COLUMNS))
    assert not problems
    await import_books(h.services.db, entries, h.clock.now())
    await import_schedule(h, *SCHEDULE, flush=False)
    await past_activity(h)
    users = {m: await h.register(m) for m in PEOPLE}
    await h.flush()
    # Leave: T1 for 第一组's activity (to L1), T2 for the collective training (to HR).
    await leave_request(h, users["T1"], "G1")
    await leave_request(h, users["T2"], "C1")
    # A reading submission awaiting L1's review.
    await users["T1"].ask("/read")
    results = await users["T1"].ask("教师")
    await users["T1"].press(results, "《给教师的建议》苏霍姆林斯基")
    await users["T1"].next_message()
    await users["T1"].ask("昨天")
    await users["T1"].ask(REFLECTION)
    # An exit proposal (T3 failed two exams) for HR.
    exams = tmp_path / "exams.csv"
    exams.write_text("member_id,semester,score\nT3,2025S1,52\nT3,2025S2,48\n", encoding="utf-8")
    assert await import_file(exams, "exams", h.config) == 0
    await h.tick()
    await h.flush()
    # L1's schedule: the cancel and move pickers for G1, and the cancel confirmation.
    l1, hr = users["L1"], users["H1"]
    menu = await with_buttons(l1, "/schedule", "sch:cx")
    await press_prefix(l1, menu, "sch:cx")
    pick = await l1.next_message()
    await press_prefix(l1, pick, "sch:cxp:")
    await edited(h, pick, 1)
    await press_prefix(l1, menu, "sch:mv")
    await l1.next_message()
    # L1's roll of the past activity, down to the correction of T2's record.
    roll = await with_buttons(l1, "/attendance P1", "att:fix:")
    activity_pk = roll_pk(roll)
    await press_prefix(l1, roll, "att:fix:")
    people = await l1.next_message()
    await press_prefix(l1, people, f"att:fixm:{activity_pk}:{await pk_of(h, 'T2')}")
    await edited(h, people, 1)
    # HR's /admin: a member card and the confirmations of every change offered.
    for op in ("off", "inv", "mv"):
        admin = await with_buttons(hr, "/admin", "adm:grps")
        await press_prefix(hr, admin, "adm:grps")
        await edited(h, admin, 1)
        await press_prefix(hr, admin, "adm:grp:m:2")
        await edited(h, admin, 2)
        await press_prefix(hr, admin, f"adm:mem:{await pk_of(h, 'T3')}")
        await edited(h, admin, 3)
        await press_prefix(hr, admin, "adm:mvto:" if op == "mv" else f"adm:ask:{op}:")
        await edited(h, admin, 4)
        if op == "mv":
            await press_prefix(hr, admin, "adm:ask:mv:")
            await edited(h, admin, 5)
    await file_report(users["T1"])
    # HR's announcement to 第二组, up to its preview (Send / Cancel); HR's heatmap scopes.
    ask = await with_buttons(hr, "/announce", "ann:aud:")
    await press_prefix(hr, ask, "ann:aud:group")
    await edited(h, ask, 1)
    await press_prefix(hr, ask, "ann:grp:2")
    await edited(h, ask, 2)
    await hr.ask("明天下午三点开会。")
    await with_buttons(hr, "/heatmap", "cr:hm:")
    # L1 opens the report from /reports; L1 hands G1's hosting over (the member picker).
    await h.flush()
    opened = await with_buttons(l1, "/reports", "rep:open:")
    await press_prefix(l1, opened, "rep:open:")
    await settled(h)
    listing = await with_buttons(l1, "/handover", "rep:ho:")
    await press_prefix(l1, listing, "rep:ho:")
    await settled(h)
    admin = await with_buttons(hr, "/admin", "adm:grps")
    await press_prefix(hr, admin, "adm:grps:l")
    await edited(h, admin, 1)
    await press_prefix(hr, admin, "adm:grp:l:2")
    await edited(h, admin, 2)
    await press_prefix(hr, admin, "adm:ask:ld:")
    await edited(h, admin, 3)
    # HR's Reject on T2's request asks for a reason, with a "no reason" button.
    card = next(e for e in hr.messages() if "leave:no:" in str(e.buttons))
    await press_prefix(hr, card, "leave:no:")
    await hr.next_message(predicate=lambda e: "leave:nr:" in str(e.buttons))
    await hr.ask("/cancel")
    # The exit proposal's second step (Confirm / Back).
    notice = next(e for e in hr.messages() if "exit:ask:" in str(e.buttons))
    await press_prefix(hr, notice, "exit:ask:")
    await edited(h, notice, 1)
    await h.flush()
    return users


async def file_report(host: SandboxUser) -> None:
    """T1 files the report of the past activity they hosted, recommending T2's work, and
    submits it."""
    offer = await with_buttons(host, "/report", "rep:pick:")
    await press_prefix(host, offer, "rep:pick:")
    await host.next_message()  # the introduction
    await host.next_message()  # what was studied?
    await host.ask("共读《给教师的建议》第一至十条，分组交流。")
    await host.ask("人人发言，结合本校实际提出三条改进措施。")
    await host.send_photo(b"\xff\xd8\xff\xe0 photo " + bytes(range(40)))
    status = await host.next_message(predicate=lambda m: said(
        m.text, "reports.photos.received", count=1
    ))
    await host.press(status, "照片已发完")
    recommend = await host.next_message()
    await host.press(recommend, "⭐ 推荐成果")
    who = await host.next_message()
    await host.press(who, "邹立新")
    await host.next_message()
    await host.ask("课堂管理的三点体会")
    await host.send_document(b"PK\x03\x04 docx", "三点体会.docx", mime_type=DOCX_MIME)
    count = await host.next_message()
    preview = await host.ask("2") if said(count.text, "reports.ask.headcount") else count
    await press_prefix(host, preview, "rep:sub:")


def roll_pk(roll: Entry) -> str:
    data = next(value for _, value in roll.buttons if value.startswith("att:fix:"))
    return data.split(":")[2]


async def pk_of(h: Harness, member_id: str) -> int:
    async with h.services.db.read() as conn:
        member = await members_repo.by_member_id(conn, member_id)
    assert member is not None
    return member.pk


# Who else may press a button shown in someone's chat, so is no wrong presser:
# (owner, start of the data, the others allowed).
ALSO_ALLOWED = (
    ("L1", "leave:", {"H1"}),  # HR decides any leave request
    ("L1", "rd:", {"H1"}),  # HR reviews anyone's reading
    ("L1", "rd:open:", {"T1"}),  # the author opens their own submission
    ("L1", "att:", {"H1"}),  # HR corrects any roll
    ("L1", "rep:open:", {"H1", "T1"}),  # HR opens any report, the host their own
)
# Buttons about the presser's own things, not the owner's: they end the presser's own dialog
# and edit the message pressed (leave:cx, sch:keep), show the presser's own record (att:mine)
# or open a leader's menu for the leader's own group (sch:new / mv / cx). Those who may press
# them (None: anyone) get a plain answer; still nothing may change. An entry ending in ":" is
# a prefix, otherwise the whole data.
OWN_CONVERSATION: dict[str, set[str] | None] = {
    "leave:cx:": None, "sch:keep:": None, "att:mine": None,
    "sch:new": {"L2"}, "sch:mv": {"L2"}, "sch:cx": {"L2"},
}


def own_conversation(data: str, actor: str) -> bool:
    return any(
        (data.startswith(entry) if entry.endswith(":") else data == entry)
        and (actors is None or actor in actors)
        for entry, actors in OWN_CONVERSATION.items()
    )


def allowed_also(button: Button) -> set[str]:
    return {
        actor for owner, start, actors in ALSO_ALLOWED
        if owner == button.owner and button.data.startswith(start) for actor in actors
    }


async def test_real_buttons_pressed_by_the_wrong_people(tmp_path: Path) -> None:
    roster = SMALL_ROSTER + "T4,吴新,trainee,第一组,东关小学,小学\n"
    async with running_bot(tmp_path, roster=roster, reading={"review": "required"}) as h:
        users = await build_state(h, tmp_path)
        home = {m: await u.ask("/help") for m, u in users.items()}
        outsiders = [("stranger", h.new_user("陌生人")), ("exited", await h.register("T4"))]
        async with h.services.db.tx() as conn:
            await conn.execute("UPDATE members SET active = 0 WHERE member_id = 'T4'")
        outside = [(name, user, await user.ask("/help")) for name, user in outsiders]
        harvested = [b for m in PEOPLE for b in buttons_of(m, users[m])]
        prefixes = {b.data.split(":")[0] for b in harvested}
        assert {"adm", "ann", "att", "cr", "exit", "leave", "rd", "rep", "sch"} <= prefixes, (
            prefixes)
        problems: list[str] = []
        pressed = 0
        for button in harvested:
            allowed_too = allowed_also(button)
            wrong = [m for m in PEOPLE if m != button.owner and m not in allowed_too]
            for actor, user, message in [
                *((m, users[m], home[m]) for m in wrong), *outside,
            ]:
                before = await snapshot(h)
                answer = await user.press_data(message, button.data, timeout=5)
                pressed += 1
                where = f"{actor} pressing {button.owner}'s {button.label!r} ({button.data})"
                if APOLOGY in (answer.text or ""):
                    problems.append(f"{where}: apology {answer.text!r}")
                elif own_conversation(button.data, actor):
                    pass
                elif not answer.show_alert or answer.text not in REFUSALS:
                    problems.append(f"{where}: not refused: {answer.text!r}")
                changed = differences(before, await snapshot(h))
                if changed:
                    problems.append(f"{where}: data changed: {changed}")
        for m, user in users.items():
            user.skip_pending()
            if any(APOLOGY in e.text for e in user.messages()):
                problems.append(f"{m} got an apology")
        assert problems == [], "\n".join(problems)
        assert pressed > 100
        await rightful_presses_still_work(h, users, harvested)


# (owner, the start of the button's data, a reply to a question it asks, the table it changes)
RIGHTFUL = (
    ("L1", "leave:ok:", None, "leave_requests"),
    ("T2", "leave:wd:", None, "leave_requests"),
    ("L1", "rd:acc:", None, "reading_submissions"),
    ("H1", "exit:dis:", None, "exit_proposals"),
    ("L1", "rep:hom:", None, "activities"),
    ("L1", "sch:cxy:", None, "activities"),
    ("L1", "att:fixs:", "补签到", "attendance"),
    ("H1", "adm:do:off:", None, "members"),
)


async def rightful_presses_still_work(
    h: Harness, users: dict[str, SandboxUser], harvested: list[Button]
) -> None:
    """The owner's own press of the same real buttons, after all that, does what it says (so
    the refusals above came from who pressed, not from the data)."""
    for owner, start, reply, table in RIGHTFUL:
        button = next(b for b in harvested if b.owner == owner and b.data.startswith(start))
        user = users[owner]
        before = await snapshot(h)
        user.skip_pending()
        answer = await user.press_data(button.message, button.data)
        assert not answer.show_alert and APOLOGY not in (answer.text or ""), (
            button.data, answer.text)
        if reply is not None:  # the press asked a question (by editing the message)
            await settled(h)
            await user.ask(reply)
        changed = differences(before, await snapshot(h))
        assert any(line.startswith(f"{table} ") for line in changed), (button.data, changed)

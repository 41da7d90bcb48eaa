"""Demo scenes of the foundation: registration, profile, help, a stranger."""

from __future__ import annotations

from bot.demo.play import Demo
from bot.demo.scenes import Scene

ORDER = 0


async def scene_registration(demo: Demo) -> None:
    """Registration by deep link, a wrong code, a typed code; the leader is told."""
    leader = demo.person("M001")
    trainee = demo.person("M002")
    other = demo.person("M003")
    await leader.ask(f"/start {demo.codes['M001']}")
    await trainee.ask("/start ABCD2345")
    await trainee.ask("/start")
    await trainee.ask(demo.codes["M002"])
    await other.ask(f"/start {demo.codes['M003']}")
    await demo.flush()
    hr_id = next(m for m in demo.codes if m.startswith("H"))
    hr = demo.person(hr_id)
    await hr.ask(f"/start {demo.codes[hr_id]}")
    await hr.ask("/help")


async def scene_profile(demo: Demo) -> None:
    """/me and /help for a trainee and a leader; a stranger gets the how-to-register answer."""
    trainee = demo.person("M002")
    leader = demo.person("M001")
    await trainee.ask("/me")
    await trainee.ask("/help")
    await leader.ask("/help")
    stranger = demo.person("陌生人")
    await stranger.ask("你好，我想签到")


SCENES: list[Scene] = [scene_registration, scene_profile]

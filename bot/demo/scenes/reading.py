"""Demo scenes of the reading log: the catalog, logging books (text and document), review with
a return and a resubmission, the management analysis, the leader's and HR's tables."""

from __future__ import annotations

import importlib.resources
from typing import TYPE_CHECKING

from bot.demo.play import Demo
from bot.demo.scenes import Scene

if TYPE_CHECKING:
    from bot.sandbox.model import Entry

ORDER = 20

REFLECTION = (
    "《给教师的建议》用一百条建议讲透了教师日常工作中的许多难题。印象最深的是“教师的时间从哪里来”："
    "苏霍姆林斯基说，要每天不间断地读书，让知识的大海不断充盈，课堂上讲的内容只是大海里的一滴水。"
    "对照自己，这几年忙于事务，读书越来越少，备课常常只盯着教参，课堂自然缺少底气和光彩。"
    "书中关于“后进生”的论述也让我反思：学习困难的孩子最需要的不是补课和加练，而是阅读与思考，"
    "是让他们在某一方面体验到成功的喜悦。作为学校的管理者，我打算从三个方面落实：一是在教研组推行"
    "“每月共读一本书”，把读书和教研结合起来；二是减少不必要的检查和表格，把时间还给教师；三是为"
    "学习困难的学生建立阅读档案，请班主任和任课教师共同跟进。读书不是额外的负担，而是教师专业成长"
    "最朴素也最可靠的路径。"
)
RESUBMISSION = REFLECTION + (
    "补充：结合我校实际，下学期先在五年级试点共读，每月第二周的教研活动专门交流读书心得，学期末评估效果。"
)
ANALYSIS = (
    "我校是一所有一千二百名学生的城区小学。近两年课后服务全面铺开，暴露出三个管理问题：一是课程内容"
    "以看管和作业辅导为主，缺少兴趣拓展；二是教师工作时间普遍延长，疲惫感明显；三是家长对服务质量的"
    "评价参差不齐，缺少反馈渠道。原因在于课后服务方案由学校统一制定，没有征求教师和家长意见，也没有"
    "建立评价机制。建议：第一，分层设计课程，基础托管与社团活动并行，引入社区和家长志愿者资源；第二，"
    "实行弹性上下班，课后服务课时计入工作量并在绩效中体现；第三，每学期开展一次家长满意度调查，结果"
    "公开并作为改进依据；第四，由分管副校长牵头成立课后服务工作小组，每月例会研究问题。通过这些措施，"
    "力争一年内家长满意度提高到九成以上，教师加班时间明显减少。"
)



async def scene_catalog_and_logging(demo: Demo) -> None:
    """HR's book list imported; a trainee finds a book by a word of its title, a two-line
    reflection is refused, the real one is logged."""
    from bot.app import services_of
    from bot.documents.tables import read_table
    from bot.reading.books import COLUMNS, import_books, validate_books

    with importlib.resources.as_file(
        importlib.resources.files("bot.samples").joinpath("books.csv")
    ) as path:
        entries, problems = validate_books(read_table(path, COLUMNS))
    assert not problems, problems
    await import_books(services_of(demo.app).db, entries, demo.clock.now())
    for member_id in ("M001", "M002", "M003"):
        await demo.register(member_id)
    trainee = demo.person("M002")
    await trainee.ask("/books")
    await trainee.ask("/read")
    results = await trainee.ask("教师")
    await trainee.press(results, "《给教师的建议》苏霍姆林斯基")
    question = await trainee.next_message()
    await trainee.press(question, "昨天")
    await trainee.next_message()
    await trainee.ask("很有收获，值得一读。")
    await trainee.ask(REFLECTION)
    await trainee.ask("/reading")


async def scene_document(demo: Demo) -> None:
    """A book not on the list, said to be an education monograph; a 25 MB file is refused, the
    reflection comes as a Word document."""
    trainee = demo.person("M003")
    ask = await trainee.ask("/read")
    await trainee.press(ask, "✍️ 书目以外的书")
    await trainee.next_message()
    mono = await trainee.ask("教育的情调")
    await trainee.press(mono, "是，教育专著")
    await trainee.next_message()
    await trainee.ask("02-20")
    await trainee.send_document(
        b"%PDF-1.7 scanned", "读书笔记扫描件.pdf", mime_type="application/pdf",
        file_size=25 * 1024 * 1024,
    )
    await trainee.next_message()
    await trainee.send_document(
        b"PK\x03\x04 demo docx " + REFLECTION.encode(), "《教育的情调》读后感.docx",
        mime_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    await trainee.next_message()


async def scene_review(demo: Demo) -> None:
    """The leader opens the group's table, reads a reflection and returns it with a comment; the
    trainee is told and resubmits; the leader hears of it."""
    leader = demo.person("M001")
    trainee = demo.person("M002")
    mine = await leader.ask("/reading")
    await leader.press(mine, "📋 本组读书情况")
    table = await leader.next_message()

    async def first_entry_of(name: str) -> Entry:
        """The leader picks `name` in the table and opens their first entry."""
        await leader.press(table, name)
        detail = await leader.next_message()
        await leader.press(detail, "查看 1")
        return await leader.next_message()

    await first_entry_of("邹立新")
    opened = await first_entry_of("黄志强")
    await leader.press(opened, "↩️ 退回")
    await leader.next_message()
    await leader.ask("写得很好，请再结合本校实际写一写打算怎么落实。")
    await demo.flush()
    notice = await trainee.next_message(predicate=lambda m: "退回了您的" in m.text)
    await trainee.press(notice, "重新提交")
    await trainee.next_message()
    await trainee.ask(RESUBMISSION)
    await demo.flush()


async def scene_outputs_and_overview(demo: Demo) -> None:
    """A school-management analysis through /submit; HR's overview of everyone."""
    trainee = demo.person("M002")
    kinds = await trainee.ask("/submit")
    await trainee.press(kinds, "学校管理分析")
    await trainee.next_message()
    await trainee.ask("关于我校课后服务管理的分析与建议")
    await trainee.ask(ANALYSIS)
    hr_id = next(m for m in demo.codes if m.startswith("H"))
    await demo.register(hr_id)
    hr = demo.person(hr_id)
    overview = await hr.ask("/reading")
    await hr.press(overview, "第一组")
    await hr.next_message()


SCENES: list[Scene] = [
    scene_catalog_and_logging, scene_document, scene_review, scene_outputs_and_overview,
]

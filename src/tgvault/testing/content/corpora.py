"""Sample texts and names for realistic posts, in many scripts (written for these fakes)."""

from __future__ import annotations

__all__ = [
    "ARABIC",
    "AUDIO",
    "AUTHORS",
    "CASHTAGS",
    "CJK",
    "CODE",
    "COMMANDS",
    "CUSTOM_EMOJI_IDS",
    "CYRILLIC",
    "EMAILS",
    "EMOJI",
    "FILE_NAMES",
    "HASHTAGS",
    "HEADLINES",
    "LATIN",
    "LINKS",
    "MENTIONS",
    "PHONES",
    "PHRASES",
    "POLLS",
    "PRE",
    "REACTIONS",
    "SCRIPTS",
    "SPOILERS",
    "TITLES",
    "URLS",
    "VENUES",
]

LATIN = [
    "The archive keeps every edit, every deletion and every reaction, so nothing posted here is ever lost.",
    "Tomorrow's meeting moves to the small hall on the second floor; bring the printed agenda and a pen.",
    "We tested the new build overnight: 4,812 posts imported, 37 albums stitched back together, zero gaps.",
    "Café owners in the old town say the winter season started early this year — and nobody complains.",
    "A reminder for new readers: corrections are marked as edits, and deleted posts remain in the archive.",
    "Über 300 Teilnehmer, drei Sprachen und eine sehr lange Nacht: so sah der Hackathon am Ende aus.",
    "La reunión empezó tarde, pero terminó con un acuerdo que nadie esperaba. ¿Quién lo habría dicho?",
    "Chapter 1157 is out. Spoilers below the fold, so scroll carefully if you have not read it yet!",
]
CYRILLIC = [
    "Архив сохраняет каждую правку и каждое удаление, поэтому ничего из опубликованного не пропадёт.",
    "Завтра в 10:00 начинаем разбор новых материалов. Присоединяйтесь, будет интересно и полезно.",
    "Съешь же ещё этих мягких французских булок, да выпей чаю — классика для проверки шрифтов.",
    "Подписчиков стало больше ста тысяч. Спасибо всем, кто читает, пересылает и спорит в комментариях!",
    "Украинский и белорусский тоже бывают в лентах: ґанок, їжак, ў — буквы, которых нет в русском.",
]
ARABIC = [
    "عَلَىٰ نَهجِ السَّلَفِ: هذه القناة تنشر الفوائد العلمية والدروس المختصرة كل يوم بإذن الله.",
    "الأرشيف يحفظ كل تعديل وكل حذف، فلا يضيع شيء مما نُشر هنا أبداً.",
    "قال الشيخ رحمه الله: العلم قبل القول والعمل، فاحرصوا على الطلب والمراجعة.",
    "موعد الدرس القادم يوم الجمعة بعد صلاة العصر، والبث المباشر على هذه القناة.",
]
CJK = [
    "ハリアクサ ✨ 今日の更新です。次の章は来週公開予定、お楽しみに！",
    "档案保存每一次编辑和删除，发布过的内容永远不会丢失。",
]
EMOJI = [
    "🇷🇺",
    "🇺🇦",
    "🇪🇬",
    "🇯🇵",
    "🇧🇷",
    "🏳️‍🌈",
    "🏴‍☠️",
    "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "👨‍👩‍👧‍👦",
    "👩🏽‍💻",
    "🧑‍🚀",
    "🤷‍♂️",
    "❤️",
    "🔥",
    "👍🏻",
    "1️⃣",
    "🫶",
    "😂",
    "🥇",
    "✨",
    "☪️",
    "📚",
]
SCRIPTS = [LATIN, LATIN, CYRILLIC, ARABIC, CJK]
HEADLINES = [
    "BREAKING: the archive is complete",
    "Итоги недели",
    "فائدة عظيمة",
    "Poll ended, here's the result",
    "TCB Scans — No break next week",
    "Обновление 2.0 🎉",
]
PHRASES = ["very important", "не пропустите", "بإذن الله", "read twice", "важно 🇷🇺", "final answer"]
SPOILERS = ["Luffy wins", "он выжил", "the butler did it 🤫", "الجواب في الدرس القادم"]
CODE = ["pip install tgvault", "tgvault backfill @channel", "SELECT count(*) FROM posts;", "sha256sum a.jpg"]
PRE = [
    ("python", 'async for post in client.iter_messages("@channel"):\n    print(post.id, post.text)'),
    ("json", '{\n  "id": 3757,\n  "views": 1353,\n  "reactions": ["🔥", "👍"]\n}'),
    ("bash", "tgvault run --config tgvault.toml\n# then open site/index.html"),
    ("", "plain preformatted\n   with   spaces\tand tabs"),
]
LINKS = [
    ("read the full article", "https://example.org/articles/2025/archive-everything"),
    ("подробнее", "https://example.ru/новости/архив?utm_source=telegram"),
    ("المصدر", "https://example.com/ar/درس-اليوم"),
]
URLS = ["https://t.me/onepiecespoilhere/3757", "https://example.org/a?b=1&c=2#frag", "example.com/path"]
MENTIONS = ["@durov", "@onepiecespoilhere", "@uponthepathofsalaf", "@tgvault_keeper"]
HASHTAGS = ["#Meme", "#новости", "#فوائد", "#Side_Benefits@madrasatunaa", "#archive2025"]
CASHTAGS = ["$BTC", "$TON", "$AAPL"]
EMAILS = ["editor@example.org", "почта@пример.рф"]
PHONES = ["+1 202 555 0143", "+7 (495) 123-45-67"]
COMMANDS = ["/start", "/help@tgvault_bot", "/subscribe"]
AUTHORS = ["🇲 .🇦 .🇸 .🇭", "ハリアクサ ✨", "Иван Петров", "عبد الله", "Editor"]
REACTIONS = ["🔥", "👍", "❤", "🤯", "😂", "🍌", "🏆", "🙈", "🤷‍♂", "💋", "🥰", "👏"]
CUSTOM_EMOJI_IDS = [5_368_324_170_671_202_286, 5_377_305_978_079_288_312, 5_449_505_950_283_078_474]
FILE_NAMES = [
    ("application/pdf", "One Piece Chapter 1157 — scans (translated).pdf", True),
    ("application/pdf", "النقاب — رسالة.pdf", True),
    ("application/zip", "архив_2025.zip", False),
    ("text/plain", "notes.txt", False),
    ("application/octet-stream", "..\\..\\windows\\win.ini", False),
    ("text/markdown", "report: 2025? <final>.md", False),
]
AUDIO = [
    ("خطبة عيد الأضحى المبارك", "الشيخ أبو عبد الرحمن", "خطبة العيد.mp3"),
    ("Лекция №3", "Иван Петров", "lecture_03.mp3"),
    ("Sea Shanty", "<unknown>", "track01.mp3"),
]
POLLS = [
    ("Who will save him, will it be...", ["Rocks", "Dragon", "Roger", "Kuma", "Others (comment)"]),
    ("Какой формат удобнее?", ["Текст", "Видео", "Голосовые 🎙"]),
    ("ما هو أفضل وقت للدرس؟", ["بعد الفجر", "بعد العصر", "بعد العشاء"]),
]
VENUES = [
    (55.7539, 37.6208, "Красная площадь", "Москва, Россия"),
    (30.0444, 31.2357, "ميدان التحرير", "القاهرة، مصر"),
    (51.5007, -0.1246, "Big Ben", "Westminster, London SW1A 0AA"),
]
TITLES = ["One Piece Chapter 1158 (on break)", "Вести · News · أخبار 📰", "Archive of the Salaf 📚"]

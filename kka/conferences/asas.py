"""The counselling principles (asas), kept as data: Prayitno's twelve, or the newer
list of eleven ("keharmonisan" for "kenormatifan", without "tut wuri handayani")."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

ASAS_12 = (
    (_("Kerahasiaan"), _("data yang tidak ingin diketahui orang lain dijaga kerahasiaannya")),
    (_("Kesukarelaan"), _("konseli ikut serta dengan sukarela, tanpa paksaan")),
    (_("Keterbukaan"), _("keterbukaan dan kejujuran, bertumpu pada kerahasiaan dan kesukarelaan")),
    (_("Kegiatan"), _("konseli aktif, bukan pasif")),
    (_("Kemandirian"), _("tujuannya konseli yang mandiri")),
    (_("Kekinian"), _("masalah saat ini menjadi fokus")),
    (_("Kedinamisan"), _("layanan bergerak maju menuju perubahan")),
    (_("Keterpaduan"), _("upaya semua pihak dipadukan")),
    (_("Kenormatifan"), _("tidak bertentangan dengan norma agama, hukum, adat, dan ilmu")),
    (_("Keahlian"), _("dilaksanakan oleh tenaga profesional")),
    (_("Alih tangan kasus"), _("dirujuk bila konselor tidak dapat menuntaskannya")),
    (_("Tut wuri handayani"), _("membimbing dari belakang, memberi ruang untuk tumbuh")),
)

ASAS_11 = tuple(
    (_("Keharmonisan"), text) if str(name) == "Kenormatifan" else (name, text)
    for name, text in ASAS_12
    if str(name) != "Tut wuri handayani"
)

DEFAULT_STRUCTURING = _(
    "Terima kasih atas kehadiran Bapak/Ibu. Pertemuan ini adalah konferensi kasus: "
    "pertemuan terbatas untuk memahami keadaan seorang konseli dan menyepakati cara "
    "membantunya, bukan untuk menghakimi atau menghukum.\n"
    "Aturan kita bersama:\n"
    "1. Semua yang dibicarakan di sini rahasia dan tetap rahasia setelah pertemuan.\n"
    "2. Jangan menonjolkan nama dan identitas konseli.\n"
    "3. Setiap pernyataan hanya untuk kepentingan perkembangan konseli.\n"
    "4. Silakan berbicara terbuka, tetapi jangan membicarakan konseli secara negatif.\n"
    "5. Batas kerahasiaan: bila ada bahaya bagi konseli atau orang lain, atau kewajiban "
    "hukum (misalnya kekerasan terhadap anak), konselor wajib bertindak dan mencatatnya."
)


def asas_list(variant: str) -> tuple[tuple[object, object], ...]:
    return ASAS_11 if variant == "11" else ASAS_12

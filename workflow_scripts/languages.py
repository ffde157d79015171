"""Language codes (ISO 639-1) this tool knows, with the English names used in prompts."""

from __future__ import annotations

from workflow_scripts.errors import UserError

LANGUAGE_NAMES = {
    "bg": "Bulgarian",
    "ca": "Catalan",
    "cs": "Czech",
    "cy": "Welsh",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "et": "Estonian",
    "eu": "Basque",
    "fi": "Finnish",
    "fo": "Faroese",
    "fr": "French",
    "ga": "Irish",
    "gl": "Galician",
    "hr": "Croatian",
    "hu": "Hungarian",
    "is": "Icelandic",
    "it": "Italian",
    "lb": "Luxembourgish",
    "lt": "Lithuanian",
    "lv": "Latvian",
    "mt": "Maltese",
    "nb": "Norwegian Bokmål",
    "nl": "Dutch",
    "nn": "Norwegian Nynorsk",
    "no": "Norwegian",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "sk": "Slovak",
    "sl": "Slovenian",
    "sr": "Serbian",
    "sv": "Swedish",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "ar": "Arabic",
    "zh": "Chinese",
    "ja": "Japanese",
    "ko": "Korean",
    "hi": "Hindi",
    "id": "Indonesian",
    "vi": "Vietnamese",
    "th": "Thai",
}


def language_name(code: str, *, field: str = "languages") -> str:
    return _look_up(LANGUAGE_NAMES, code, field, "unknown language code")


# FLORES-200 codes (NLLB's language tokens) of the languages above, for MAPO's translation-model reward.
NLLB_CODES = {
    "bg": "bul_Cyrl",
    "ca": "cat_Latn",
    "cs": "ces_Latn",
    "cy": "cym_Latn",
    "da": "dan_Latn",
    "de": "deu_Latn",
    "el": "ell_Grek",
    "en": "eng_Latn",
    "es": "spa_Latn",
    "et": "est_Latn",
    "eu": "eus_Latn",
    "fi": "fin_Latn",
    "fo": "fao_Latn",
    "fr": "fra_Latn",
    "ga": "gle_Latn",
    "gl": "glg_Latn",
    "hr": "hrv_Latn",
    "hu": "hun_Latn",
    "is": "isl_Latn",
    "it": "ita_Latn",
    "lb": "ltz_Latn",
    "lt": "lit_Latn",
    "lv": "lvs_Latn",
    "mt": "mlt_Latn",
    "nb": "nob_Latn",
    "nl": "nld_Latn",
    "nn": "nno_Latn",
    "no": "nob_Latn",
    "pl": "pol_Latn",
    "pt": "por_Latn",
    "ro": "ron_Latn",
    "ru": "rus_Cyrl",
    "sk": "slk_Latn",
    "sl": "slv_Latn",
    "sr": "srp_Cyrl",
    "sv": "swe_Latn",
    "tr": "tur_Latn",
    "uk": "ukr_Cyrl",
    "ar": "arb_Arab",
    "zh": "zho_Hans",
    "ja": "jpn_Jpan",
    "ko": "kor_Hang",
    "hi": "hin_Deva",
    "id": "ind_Latn",
    "vi": "vie_Latn",
    "th": "tha_Thai",
}


def nllb_code(code: str, *, field: str = "languages") -> str:
    return _look_up(NLLB_CODES, code, field, "no NLLB (FLORES-200) code for language")


def _look_up(table: dict[str, str], code: str, field: str, what: str) -> str:
    """table[code], or one error naming the field and the codes the table knows."""
    try:
        return table[code]
    except KeyError:
        raise UserError(f"{what} '{code}'; known codes: {', '.join(sorted(table))}", field=field) from None

"""The three function tools as the model sees them: names and parameters from the notebook, clearer descriptions.

These are neutral specs ({name, description, parameters}); travel_assistant.assistant renders them in the shape
each model API wants. The JSON Schemas here are also what the tool-call arguments are validated against
(travel_assistant.tools.validation adds the checks a schema cannot express: dates against today, date order).
Keywords stay within what every model API accepts in a function schema (no dependentRequired, no if/then).
"""

from __future__ import annotations

from typing import Any, Final

# Hotpepper's master codes (budget/v1 and genre/v1 masters). The API takes at most two codes of each.
HOTPEPPER_BUDGETS: Final[dict[str, str]] = {
    "B009": "~500円", "B010": "501~1000円", "B011": "1001~1500円", "B001": "1501~2000円",
    "B002": "2001~3000円", "B003": "3001~4000円", "B008": "4001~5000円", "B004": "5001~7000円",
    "B005": "7001~10000円", "B006": "10001~15000円", "B012": "15001~20000円", "B013": "20001~30000円",
    "B014": "30001円~",
}
HOTPEPPER_GENRES: Final[dict[str, str]] = {
    "G001": "居酒屋", "G002": "ダイニングバー・バル", "G003": "創作料理", "G004": "和食", "G005": "洋食",
    "G006": "イタリアン・フレンチ", "G007": "中華", "G008": "焼肉・ホルモン", "G017": "韓国料理",
    "G009": "アジア・エスニック料理", "G010": "各国料理", "G011": "カラオケ・パーティ", "G012": "バー・カクテル",
    "G013": "ラーメン", "G016": "お好み焼き・もんじゃ", "G014": "カフェ・スイーツ", "G015": "その他グルメ",
}
# Hotpepper's search radius codes around lat/lng.
HOTPEPPER_RANGES: Final[dict[int, str]] = {1: "300m", 2: "500m", 3: "1000m", 4: "2000m", 5: "3000m"}

_TIME_PATTERN: Final = "^([01][0-9]|2[0-3]):[0-5][0-9]$"


def _codes(codes: dict[str, str]) -> str:
    return ", ".join(f"{code}: {label}" for code, label in codes.items())


SEARCH_HOTPEPPER_SHOPS: Final[dict[str, Any]] = {
    "name": "search_hotpepper_shops",
    "description": (
        "ホットペッパーグルメで飲食店(レストラン、居酒屋など)を検索します。"
        "キーワード(駅名、地名、料理ジャンル、店名など)で探し、個室の有無、予算、ジャンル、"
        "緯度経度と検索範囲で絞り込めます。"
        "結果は店名、住所、最寄駅、アクセス、ジャンル、平均予算、営業時間、定休日、席数、店舗ページURLです。"
        "予約はできないので、予約は店舗ページから行うよう案内してください。"
    ),
    "parameters": {
        "type": "object",
        "properties": {
            "keyword": {
                "type": "string",
                "minLength": 1,
                "maxLength": 100,
                "description": (
                    "飲食店を検索するキーワード。店名、住所、駅名、お店ジャンルなどをスペース区切りで指定します。"
                    "ユーザーのメッセージから検索に使う語だけを抜き出してください。例: 大阪駅 和食"
                ),
            },
            "private_room": {
                "type": "integer",
                "enum": [0, 1],
                "description": "個室ありの店舗だけに絞り込むか。0: 絞り込まない(既定), 1: 絞り込む",
            },
            "budget": {
                "type": "array",
                "items": {"type": "string", "enum": list(HOTPEPPER_BUDGETS)},
                "minItems": 1,
                "maxItems": 2,
                "uniqueItems": True,
                "description": "ディナーの平均予算(1人あたり)のコード。2つまで。" + _codes(HOTPEPPER_BUDGETS),
            },
            "genre": {
                "type": "array",
                "items": {"type": "string", "enum": list(HOTPEPPER_GENRES)},
                "minItems": 1,
                "maxItems": 2,
                "uniqueItems": True,
                "description": "お店ジャンルのコード。2つまで。" + _codes(HOTPEPPER_GENRES),
            },
            "lat": {"type": "number", "minimum": 20.0, "maximum": 46.0,
                    "description": "検索の中心の緯度(WGS84、度)。lng と一緒に指定。例: 有楽町駅 35.6751"},
            "lng": {"type": "number", "minimum": 122.0, "maximum": 154.0,
                    "description": "検索の中心の経度(WGS84、度)。lat と一緒に指定。例: 有楽町駅 139.7630"},
            "range": {"type": "integer", "enum": list(HOTPEPPER_RANGES),
                      "description": "lat/lng からの検索範囲。" + ", ".join(
                          f"{k}: {v}" for k, v in HOTPEPPER_RANGES.items()) + "(既定 3)"},
            "count": {"type": "integer", "minimum": 1, "maximum": 20,
                      "description": "返す店舗の数。1 から 20(既定 5)"},
        },
        "required": ["keyword"],
        "additionalProperties": False,
    },
}

SEARCH_VACANT_HOTELS: Final[dict[str, Any]] = {
    "name": "search_vacant_hotels",
    "description": (
        "楽天トラベルで、指定した地点の周辺にある空室のあるホテルを検索します。"
        "地点は緯度経度(世界測地系 WGS84)と検索半径で指定します。"
        "結果はホテル名、アクセス、最寄駅、評価、部屋とプランの料金(宿泊日ごと)、ホテルとプラン一覧のURLです。"
        "予約そのものはできないので、予約は URL から行うよう案内してください。空室がなければ hotels は空です。"
    ),
    "parameters": {
        "type": "object",
        "properties": {
            "latitude": {"type": "number", "minimum": 20.0, "maximum": 46.0,
                         "description": "検索地点の緯度(WGS84、度)。例: 大阪駅 34.7025"},
            "longitude": {"type": "number", "minimum": 122.0, "maximum": 154.0,
                          "description": "検索地点の経度(WGS84、度)。例: 大阪駅 135.4959"},
            "searchRadius": {"type": "number", "minimum": 0.1, "maximum": 3.0,
                             "description": "検索半径(km)。0.1 から 3.0"},
            "checkinDate": {"type": "string", "format": "date",
                            "description": "チェックイン日(YYYY-MM-DD)。今日以降の日付"},
            "checkoutDate": {"type": "string", "format": "date",
                             "description": "チェックアウト日(YYYY-MM-DD)。チェックイン日より後"},
            "maxCharge": {"type": "integer", "minimum": 0, "maximum": 999999999,
                          "description": "1泊あたりの上限金額(円)"},
            "adultNum": {"type": "integer", "minimum": 1, "maximum": 99,
                         "description": "1室あたりの大人の宿泊人数。既定は 1"},
        },
        "required": ["latitude", "longitude", "searchRadius", "checkinDate", "checkoutDate"],
        "additionalProperties": False,
    },
}

TRANSPORT_TYPES: Final = ("train", "shinkansen", "flight", "bus", "any")

SEARCH_TRANSPORTATION: Final[dict[str, Any]] = {
    "name": "searchTransportation",
    "description": (
        "駅すぱあとで、列車・新幹線・飛行機・高速バスの経路、所要時間、運賃を検索します。"
        "帰りの日付を指定すると復路も検索します。運賃は大人1人あたりと、人数分の合計を返します。"
        "時刻(departureTime または arrivalTime)を指定すると時刻表で検索し、指定しないと平均的な所要時間で検索します。"
        "検索だけを行います。切符や航空券の予約・購入はできません。"
    ),
    "parameters": {
        "type": "object",
        "properties": {
            "transportType": {
                "type": "string",
                "enum": list(TRANSPORT_TYPES),
                "description": "交通機関の種類。train: 鉄道(新幹線を含む), shinkansen: 新幹線を使う経路, "
                               "flight: 飛行機を使う経路, bus: 高速バスを使う経路, any: 指定なし",
            },
            "origin": {"type": "string", "minLength": 1, "maxLength": 64,
                       "description": "出発地の駅名・空港名・バス停名。例: 東京"},
            "destination": {"type": "string", "minLength": 1, "maxLength": 64,
                            "description": "目的地の駅名・空港名・バス停名。例: 新大阪"},
            "departureDate": {"type": "string", "format": "date",
                              "description": "出発日(YYYY-MM-DD)。今日以降の日付"},
            "returnDate": {"type": "string", "format": "date",
                           "description": "帰りの日付(YYYY-MM-DD)。往復の場合だけ指定"},
            "passengers": {"type": "integer", "minimum": 1, "maximum": 50, "description": "乗客(大人)の人数"},
            "departureTime": {"type": "string", "pattern": _TIME_PATTERN,
                              "description": "往路の出発時刻(HH:MM)。この時刻以降に出発する経路を探します"},
            "arrivalTime": {"type": "string", "pattern": _TIME_PATTERN,
                            "description": "往路の到着時刻(HH:MM)。この時刻までに到着する経路を探します。"
                                           "departureTime とは同時に指定できません"},
            "returnDepartureTime": {"type": "string", "pattern": _TIME_PATTERN,
                                    "description": "復路の出発時刻(HH:MM)。returnDate と一緒に指定"},
        },
        "required": ["transportType", "origin", "destination", "departureDate", "passengers"],
        "additionalProperties": False,
    },
}

FUNCTION_TOOL_SPECS: Final[tuple[dict[str, Any], ...]] = (
    SEARCH_HOTPEPPER_SHOPS, SEARCH_VACANT_HOTELS, SEARCH_TRANSPORTATION)

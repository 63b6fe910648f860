"""The three function tools as the model sees them: names and parameters from the notebook, clearer descriptions.

These are neutral specs ({name, description, parameters}); travel_assistant.assistant renders them in the shape
each model API wants. The JSON Schemas here are also what the tool-call arguments are validated against.
"""

from __future__ import annotations

from typing import Any, Final

SEARCH_HOTPEPPER_SHOPS: Final[dict[str, Any]] = {
    "name": "search_hotpepper_shops",
    "description": (
        "ホットペッパーグルメで飲食店(レストラン、居酒屋など)を検索します。"
        "キーワード(駅名、地名、料理ジャンル、店名など)と、個室の有無で絞り込めます。"
        "結果は店名、住所、最寄駅、アクセス、ジャンル、平均予算、営業時間、定休日、席数、店舗ページURLです。"
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
        "結果はホテル名、アクセス、評価、プラン名と料金、予約ページURLです。予約そのものはできません。"
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
                          "description": "1泊1室あたりの上限金額(円)"},
            "adultNum": {"type": "integer", "minimum": 1, "maximum": 99,
                         "description": "1室あたりの大人の宿泊人数。既定は 1"},
        },
        "required": ["latitude", "longitude", "searchRadius", "checkinDate", "checkoutDate"],
        "additionalProperties": False,
    },
}

SEARCH_TRANSPORTATION: Final[dict[str, Any]] = {
    "name": "searchTransportation",
    "description": (
        "駅すぱあとで、列車・新幹線・飛行機・高速バスの経路と運賃を検索します。"
        "帰りの日付を指定すると復路も検索します。運賃は人数分に換算して返します。"
        "検索だけを行い、切符や航空券の予約・購入はできません。"
    ),
    "parameters": {
        "type": "object",
        "properties": {
            "transportType": {
                "type": "string",
                "enum": ["train", "shinkansen", "flight", "bus", "any"],
                "description": "交通機関の種類。train: 在来線と特急, shinkansen: 新幹線, flight: 飛行機, "
                               "bus: 高速バス, any: 指定なし",
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
        },
        "required": ["transportType", "origin", "destination", "departureDate", "passengers"],
        "additionalProperties": False,
    },
}

FUNCTION_TOOL_SPECS: Final[tuple[dict[str, Any], ...]] = (
    SEARCH_HOTPEPPER_SHOPS, SEARCH_VACANT_HOTELS, SEARCH_TRANSPORTATION)

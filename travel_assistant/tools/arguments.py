"""The three function tools' arguments as pydantic models: the one definition of each tool's parameters.

Each model is at once the tool's JSON Schema as the model APIs see it (``parameters_schema``; names and
Japanese descriptions from the notebook) and the check of the model's tool-call arguments (``model_validate``
with ``context={"today": ...}``). The schema keeps to keywords every model API accepts in a non-strict function
schema: an optional parameter is simply not required (no ``null`` branch, no ``default``), and the rules a schema
cannot say (dates against today, date order, fields that go together) are the models' after-validators.

Pure and deterministic: the orchestrator validates while replaying, so there is no I/O and no clock here.
"""

from __future__ import annotations

import math
import re
from datetime import date
from functools import cache
from typing import Any, ClassVar, Final, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from . import names

BudgetCode = Literal["B009", "B010", "B011", "B001", "B002", "B003", "B008", "B004", "B005", "B006", "B012",
                     "B013", "B014"]
GenreCode = Literal["G001", "G002", "G003", "G004", "G005", "G006", "G007", "G008", "G017", "G009", "G010",
                    "G011", "G012", "G013", "G016", "G014", "G015"]
RangeCode = Literal[1, 2, 3, 4, 5]
TransportType = Literal["train", "shinkansen", "flight", "bus", "any"]

# Hotpepper's master codes (budget/v1 and genre/v1 masters), with the labels the model reads. The API takes at
# most two codes of each.
HOTPEPPER_BUDGETS: Final[dict[BudgetCode, str]] = {
    "B009": "~500円", "B010": "501~1000円", "B011": "1001~1500円", "B001": "1501~2000円",
    "B002": "2001~3000円", "B003": "3001~4000円", "B008": "4001~5000円", "B004": "5001~7000円",
    "B005": "7001~10000円", "B006": "10001~15000円", "B012": "15001~20000円", "B013": "20001~30000円",
    "B014": "30001円~",
}
HOTPEPPER_GENRES: Final[dict[GenreCode, str]] = {
    "G001": "居酒屋", "G002": "ダイニングバー・バル", "G003": "創作料理", "G004": "和食", "G005": "洋食",
    "G006": "イタリアン・フレンチ", "G007": "中華", "G008": "焼肉・ホルモン", "G017": "韓国料理",
    "G009": "アジア・エスニック料理", "G010": "各国料理", "G011": "カラオケ・パーティ", "G012": "バー・カクテル",
    "G013": "ラーメン", "G016": "お好み焼き・もんじゃ", "G014": "カフェ・スイーツ", "G015": "その他グルメ",
}
# Hotpepper's search radius codes around lat/lng.
HOTPEPPER_RANGES: Final[dict[RangeCode, str]] = {1: "300m", 2: "500m", 3: "1000m", 4: "2000m", 5: "3000m"}
# The labels name every code, in the order of the Literal (which is the order of the schema's enum).
assert tuple(HOTPEPPER_BUDGETS) == get_args(BudgetCode) and tuple(HOTPEPPER_GENRES) == get_args(GenreCode)
assert tuple(HOTPEPPER_RANGES) == get_args(RangeCode)

TRANSPORT_TYPES: Final = get_args(TransportType)
_TIME_PATTERN: Final = "^([01][0-9]|2[0-3]):[0-5][0-9]$"
_ISO_DATE: Final = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_HHMM: Final = re.compile(r"^([0-9]{1,2})[:：]?([0-9]{2})$")
_FULLWIDTH_DIGITS: Final = str.maketrans("０１２３４５６７８９", "0123456789")

# Words the model may use for a transport type (Japanese and English), lower-cased, without spaces.
_TRANSPORT_SYNONYMS: Final[dict[str, str]] = {
    **{word: "train" for word in (
        "列車", "電車", "鉄道", "在来線", "jr", "特急", "汽車", "rail", "railway", "railroad", "trains")},
    **{word: "shinkansen" for word in ("新幹線", "しんかんせん", "bullettrain", "のぞみ", "ひかり", "こだま")},
    **{word: "flight" for word in (
        "飛行機", "航空機", "航空", "空路", "フライト", "ひこうき", "plane", "airplane", "air", "airline", "fly",
        "flights")},
    **{word: "bus" for word in ("バス", "高速バス", "夜行バス", "長距離バス", "highwaybus", "coach", "buses")},
    **{word: "any" for word in (
        "指定なし", "なんでも", "何でも", "おまかせ", "公共交通機関", "すべて", "全て", "all", "either", "anything",
        "none", "unspecified", "public", "publictransport")},
}


def _codes(labels: dict[Any, str]) -> str:
    return ", ".join(f"{code}: {label}" for code, label in labels.items())


def _rule_broken(problems: list[str]) -> PydanticCustomError:
    """The cross-field rules' failure, worded as is (pydantic would prefix a ValueError with "Value error")."""
    return PydanticCustomError("tool_rule", "{problems}", {"problems": "; ".join(problems)})


class _ToolParametersSchema(GenerateJsonSchema):
    """JSON Schema as a function tool's parameters: an optional field is one the model may leave out, so its
    ``None`` default adds neither a ``null`` branch nor a ``default``; fields carry no generated titles."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


class ToolArguments(BaseModel):
    """A function tool's arguments. Strict types after a light repair of the slips models make: "34.7" for a
    number, 2.0 for an integer, null or "" for an absent optional, one code where a list is expected."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    tool_name: ClassVar[str]
    tool_description: ClassVar[str]

    @classmethod
    def parameters_schema(cls) -> dict[str, Any]:
        return _parameters_schema(cls)

    @classmethod
    def repair(cls, values: dict[str, Any]) -> None:
        """A tool's own fix-ups of its values before validation (in place)."""

    @model_validator(mode="before")
    @classmethod
    def _repair_slips(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        schema = cls.parameters_schema()
        properties: dict[str, Any] = schema["properties"]
        required = set(schema["required"])
        values = {key: _coerce(properties.get(key), value) for key, value in data.items()
                  if not (key in properties and key not in required and _is_blank(value))}
        cls.repair(values)
        return values

    @staticmethod
    def today(info: ValidationInfo) -> date:
        today = info.context.get("today") if isinstance(info.context, dict) else None
        if not isinstance(today, date):
            raise TypeError("validate tool arguments with context={'today': <Japan's date>}")
        return today


@cache
def _parameters_schema(model: type[ToolArguments]) -> dict[str, Any]:
    schema = model.model_json_schema(schema_generator=_ToolParametersSchema)
    schema.pop("title", None)
    schema.pop("description", None)  # the class docstring; the tool's description is tool_description
    return schema


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _coerce(schema: dict[str, Any] | None, value: Any) -> Any:
    """Repair the harmless type slips models make; leave anything else for validation to report."""
    if schema is None:
        return value
    kind = schema.get("type")
    if kind == "array" and isinstance(value, str | int | float) and not isinstance(value, bool):
        value = [value]  # one code where a list of codes is expected
    if isinstance(value, str):
        text = value.strip()
        if kind in ("number", "integer"):
            try:
                number = float(text)
            except ValueError:
                return value
            if not math.isfinite(number):
                return value
            value = number
        else:
            return text
    if kind == "integer" and isinstance(value, bool):
        return int(value)
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind == "array" and isinstance(value, list):
        return [item.strip() if isinstance(item, str) else item for item in value]
    return value


def _iso_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise PydanticCustomError("date_format", "{shown} is not a date in the form YYYY-MM-DD",
                              {"shown": repr(value if not isinstance(value, str) else value[:40])})


def _past(name: str, value: date | None, today: date, problems: list[str]) -> None:
    if value is not None and value < today:
        problems.append(f"{name}: {value.isoformat()} is in the past (today is {today.isoformat()} in Japan); "
                        "use today or a later date, and the coming year when the user gave no year")


def _unique(codes: list[Any] | None) -> list[Any] | None:
    if codes is not None and len(set(codes)) != len(codes):
        raise PydanticCustomError("unique_items", "the codes must not repeat")
    return codes


class SearchHotpepperShops(ToolArguments):
    """search_hotpepper_shops: restaurants from Hotpepper Gourmet."""

    tool_name: ClassVar[str] = names.SEARCH_HOTPEPPER_SHOPS
    tool_description: ClassVar[str] = (
        "ホットペッパーグルメで飲食店(レストラン、居酒屋など)を検索します。"
        "キーワード(駅名、地名、料理ジャンル、店名など)で探し、個室の有無、予算、ジャンル、"
        "緯度経度と検索範囲で絞り込めます。"
        "結果は店名、住所、最寄駅、アクセス、ジャンル、平均予算、営業時間、定休日、席数、店舗ページURLです。"
        "予約はできないので、予約は店舗ページから行うよう案内してください。"
    )

    keyword: str = Field(min_length=1, max_length=100, description=(
        "飲食店を検索するキーワード。店名、住所、駅名、お店ジャンルなどをスペース区切りで指定します。"
        "ユーザーのメッセージから検索に使う語だけを抜き出してください。例: 大阪駅 和食"))
    private_room: Literal[0, 1] = Field(
        0, description="個室ありの店舗だけに絞り込むか。0: 絞り込まない(既定), 1: 絞り込む")
    budget: list[BudgetCode] | None = Field(
        None, min_length=1, max_length=2, json_schema_extra={"uniqueItems": True},
        description="ディナーの平均予算(1人あたり)のコード。2つまで。" + _codes(HOTPEPPER_BUDGETS))
    genre: list[GenreCode] | None = Field(
        None, min_length=1, max_length=2, json_schema_extra={"uniqueItems": True},
        description="お店ジャンルのコード。2つまで。" + _codes(HOTPEPPER_GENRES))
    lat: float | None = Field(None, ge=20.0, le=46.0, description=(
        "検索の中心の緯度(WGS84、度)。lng と一緒に指定。例: 有楽町駅 35.6751"))
    lng: float | None = Field(None, ge=122.0, le=154.0, description=(
        "検索の中心の経度(WGS84、度)。lat と一緒に指定。例: 有楽町駅 139.7630"))
    range: RangeCode | None = Field(None, description=(
        "lat/lng からの検索範囲。" + ", ".join(f"{k}: {v}" for k, v in HOTPEPPER_RANGES.items()) + "(既定 3)"))
    count: int = Field(5, ge=1, le=20, description="返す店舗の数。1 から 20(既定 5)")

    _unique_codes = field_validator("budget", "genre")(_unique)

    @model_validator(mode="after")
    def _rules(self) -> Self:
        problems: list[str] = []
        if (self.lat is None) != (self.lng is None):
            problems.append("lat and lng go together: give both or neither")
        if self.range is not None and self.lat is None:
            problems.append("range needs lat and lng")
        if problems:
            raise _rule_broken(problems)
        if self.lat is not None and self.range is None:
            self.range = 3
        return self


class SearchVacantHotels(ToolArguments):
    """search_vacant_hotels: hotels with a vacancy near a point, from Rakuten Travel."""

    tool_name: ClassVar[str] = names.SEARCH_VACANT_HOTELS
    tool_description: ClassVar[str] = (
        "楽天トラベルで、指定した地点の周辺にある空室のあるホテルを検索します。"
        "地点は緯度経度(世界測地系 WGS84)と検索半径で指定します。"
        "結果はホテル名、アクセス、最寄駅、評価、部屋とプランの料金(宿泊日ごと)、ホテルとプラン一覧のURLです。"
        "予約そのものはできないので、予約は URL から行うよう案内してください。空室がなければ hotels は空です。"
    )

    latitude: float = Field(ge=20.0, le=46.0, description="検索地点の緯度(WGS84、度)。例: 大阪駅 34.7025")
    longitude: float = Field(ge=122.0, le=154.0, description="検索地点の経度(WGS84、度)。例: 大阪駅 135.4959")
    searchRadius: float = Field(ge=0.1, le=3.0, description="検索半径(km)。0.1 から 3.0")
    checkinDate: date = Field(description="チェックイン日(YYYY-MM-DD)。今日以降の日付")
    checkoutDate: date = Field(description="チェックアウト日(YYYY-MM-DD)。チェックイン日より後")
    maxCharge: int | None = Field(None, ge=0, le=999999999, description="1泊あたりの上限金額(円)")
    adultNum: int = Field(1, ge=1, le=99, description="1室あたりの大人の宿泊人数。既定は 1")

    _dates = field_validator("checkinDate", "checkoutDate", mode="before")(_iso_date)

    @model_validator(mode="after")
    def _rules(self, info: ValidationInfo) -> Self:
        today = self.today(info)
        problems: list[str] = []
        _past("checkinDate", self.checkinDate, today, problems)
        _past("checkoutDate", self.checkoutDate, today, problems)
        if self.checkoutDate <= self.checkinDate:
            problems.append(f"checkoutDate ({self.checkoutDate.isoformat()}) must be after checkinDate "
                            f"({self.checkinDate.isoformat()})")
        if problems:
            raise _rule_broken(problems)
        return self


class SearchTransportation(ToolArguments):
    """searchTransportation: routes, times and fares from Ekispert."""

    tool_name: ClassVar[str] = names.SEARCH_TRANSPORTATION
    tool_description: ClassVar[str] = (
        "駅すぱあとで、列車・新幹線・飛行機・高速バスの経路、所要時間、運賃を検索します。"
        "帰りの日付を指定すると復路も検索します。運賃は大人1人あたりと、人数分の合計を返します。"
        "時刻(departureTime または arrivalTime)を指定すると時刻表で検索し、指定しないと平均的な所要時間で検索します。"
        "検索だけを行います。切符や航空券の予約・購入はできません。"
    )

    transportType: TransportType = Field(
        description="交通機関の種類。train: 鉄道(新幹線を含む), shinkansen: 新幹線を使う経路, "
                    "flight: 飛行機を使う経路, bus: 高速バスを使う経路, any: 指定なし")
    origin: str = Field(min_length=1, max_length=64, description="出発地の駅名・空港名・バス停名。例: 東京")
    destination: str = Field(min_length=1, max_length=64, description="目的地の駅名・空港名・バス停名。例: 新大阪")
    departureDate: date = Field(description="出発日(YYYY-MM-DD)。今日以降の日付")
    returnDate: date | None = Field(None, description="帰りの日付(YYYY-MM-DD)。往復の場合だけ指定")
    passengers: int = Field(ge=1, le=50, description="乗客(大人)の人数")
    departureTime: str | None = Field(None, pattern=_TIME_PATTERN, description=(
        "往路の出発時刻(HH:MM)。この時刻以降に出発する経路を探します"))
    arrivalTime: str | None = Field(None, pattern=_TIME_PATTERN, description=(
        "往路の到着時刻(HH:MM)。この時刻までに到着する経路を探します。departureTime とは同時に指定できません"))
    returnDepartureTime: str | None = Field(None, pattern=_TIME_PATTERN, description=(
        "復路の出発時刻(HH:MM)。returnDate と一緒に指定"))

    _dates = field_validator("departureDate", "returnDate", mode="before")(_iso_date)

    @classmethod
    def repair(cls, values: dict[str, Any]) -> None:
        kind = values.get("transportType")
        if isinstance(kind, str):
            word = re.sub(r"[\s_\-・]", "", kind).lower()
            values["transportType"] = word if word in TRANSPORT_TYPES else _TRANSPORT_SYNONYMS.get(word, kind)
        for key in ("origin", "destination"):
            place = values.get(key)
            # Ekispert names stations without "駅" ("東京"), and users say "東京駅".
            if isinstance(place, str) and len(place) > 2 and place.endswith("駅"):
                values[key] = place[:-1]
        for key in ("departureTime", "arrivalTime", "returnDepartureTime"):
            # "9:05", "0905" and "９:05"-style slips are HH:MM
            text = values.get(key)
            if isinstance(text, str):
                match = _HHMM.match(text.strip().translate(_FULLWIDTH_DIGITS))
                if match:
                    values[key] = f"{int(match.group(1)):02d}:{match.group(2)}"

    @model_validator(mode="after")
    def _rules(self, info: ValidationInfo) -> Self:
        today = self.today(info)
        problems: list[str] = []
        _past("departureDate", self.departureDate, today, problems)
        _past("returnDate", self.returnDate, today, problems)
        if self.returnDate is not None and self.returnDate < self.departureDate:
            problems.append(f"returnDate ({self.returnDate.isoformat()}) must not be before departureDate "
                            f"({self.departureDate.isoformat()})")
        if self.departureTime is not None and self.arrivalTime is not None:
            problems.append("give departureTime or arrivalTime, not both")
        if self.returnDepartureTime is not None and self.returnDate is None:
            problems.append("returnDepartureTime needs returnDate")
        if self.origin == self.destination:
            problems.append("origin and destination are the same place")
        if problems:
            raise _rule_broken(problems)
        return self


TOOL_ARGUMENTS: Final[tuple[type[ToolArguments], ...]] = (SearchHotpepperShops, SearchVacantHotels,
                                                          SearchTransportation)
assert frozenset(model.tool_name for model in TOOL_ARGUMENTS) == names.TOOL_NAMES

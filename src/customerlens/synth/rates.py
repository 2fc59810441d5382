"""How messy the synthetic shop is: one table of rates per difficulty, all in this module.

Two tables below, each with one column per difficulty (easy, default, hard):

* ``_WORLD`` -- how the population behaves (accounts per person, moves, marriages, households).
* ``_CHANNEL`` -- per-field noise for each way a record is entered: ``accounts`` (typed by the
  customer once, at sign-up), ``crm`` (typed by staff, often over the phone) and ``guest``
  (typed by the customer at a guest checkout, in a hurry).

Every rate is a probability per record (or per person / household for world rates).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

DIFFICULTIES = ("easy", "default", "hard")

#                      easy    default  hard
_WORLD = """
no_account             0.15    0.20     0.25
two_accounts           0.07    0.12     0.18
three_accounts         0.02    0.04     0.07
one_crm_entry          0.20    0.22     0.24
two_crm_entries        0.03    0.04     0.06
household_of_2         0.13    0.16     0.20
household_of_3         0.04    0.06     0.08
household_of_4         0.02    0.03     0.04
household_of_5         0.01    0.01     0.02
move_once              0.15    0.22     0.30
move_twice             0.03    0.06     0.10
child_left_home        0.10    0.20     0.30
married_in_window      0.20    0.30     0.40
single_woman_married   0.04    0.07     0.10
double_barrelled       0.05    0.08     0.12
new_mailbox            0.12    0.20     0.30
variant_email_account  0.20    0.30     0.40
family_email           0.03    0.06     0.10
new_mobile             0.06    0.12     0.20
twins                  0.01    0.02     0.03
junior                 0.02    0.03     0.05
same_initial_child     0.10    0.20     0.30
guest_propensity       0.15    0.18     0.24
profile_updated        0.50    0.35     0.20
dob_missing            0.25    0.35     0.45
dob_day_month_swapped  0.01    0.02     0.04
dob_placeholder        0.003   0.01     0.02
dob_typo               0.005   0.01     0.02
gift_address           0.02    0.04     0.07
"""

#                   accounts               crm                    guest
#                   easy   default hard    easy   default hard    easy   default hard
_CHANNEL = """
typo                .004   .010   .025     .008   .020   .045     .015   .040   .080
spelling_variant    .002   .005   .010     .010   .025   .050     .005   .010   .020
lower_case          .020   .040   .070     .005   .010   .020     .060   .100   .150
upper_case          .010   .020   .040     .030   .050   .080     .030   .050   .080
nickname            .030   .060   .100     .030   .050   .080     .060   .100   .150
initial_only        .002   .005   .015     .030   .050   .080     .010   .020   .040
swapped_names       .003   .010   .020     .000   .000   .000     .010   .030   .060
middle_in_first     .010   .020   .030     .000   .000   .000     .005   .010   .020
accent_folded       .300   .500   .700     .300   .500   .700     .500   .700   .900
stale_surname       .050   .100   .200     .080   .150   .250     .020   .050   .100
stale_email         .050   .100   .150     .100   .150   .250     .050   .100   .150
email_missing       .000   .000   .000     .250   .350   .450     .500   .600   .700
email_variant       .050   .100   .200     .020   .050   .100     .080   .150   .250
email_case          .010   .030   .060     .020   .050   .080     .020   .050   .100
email_typo          .000   .000   .000     .010   .020   .040     .010   .020   .040
phone_missing       .250   .350   .450     .050   .100   .150     1.00   1.00   1.00
phone_landline      .150   .200   .250     .250   .350   .450     .000   .000   .000
postcode_missing    .010   .030   .060     .020   .050   .080     .000   .005   .010
postcode_format     .080   .150   .300     .100   .200   .350     .150   .250   .400
postcode_typo       .002   .005   .015     .005   .010   .020     .005   .015   .030
address_missing     .020   .050   .100     .050   .100   .150     1.00   1.00   1.00
address_variant     .200   .350   .500     .300   .450   .600     .000   .000   .000
address_typo        .005   .010   .025     .010   .020   .040     .000   .000   .000
"""


@dataclass(frozen=True)
class ChannelNoise:
    """Per-record noise rates for one entry channel (see the module docstring)."""

    typo: float
    spelling_variant: float
    lower_case: float
    upper_case: float
    nickname: float
    initial_only: float
    swapped_names: float
    middle_in_first: float
    accent_folded: float
    stale_surname: float
    stale_email: float
    email_missing: float
    email_variant: float
    email_case: float
    email_typo: float
    phone_missing: float
    phone_landline: float
    postcode_missing: float
    postcode_format: float
    postcode_typo: float
    address_missing: float
    address_variant: float
    address_typo: float


@dataclass(frozen=True)
class Rates:
    """All rates of one difficulty: world rates as attributes, channel noise per channel."""

    name: str
    no_account: float
    two_accounts: float
    three_accounts: float
    one_crm_entry: float
    two_crm_entries: float
    household_of_2: float
    household_of_3: float
    household_of_4: float
    household_of_5: float
    move_once: float
    move_twice: float
    child_left_home: float
    married_in_window: float
    single_woman_married: float
    double_barrelled: float
    new_mailbox: float
    variant_email_account: float
    family_email: float
    new_mobile: float
    twins: float
    junior: float
    same_initial_child: float
    guest_propensity: float
    profile_updated: float
    dob_missing: float
    dob_day_month_swapped: float
    dob_placeholder: float
    dob_typo: float
    gift_address: float
    accounts: ChannelNoise
    crm: ChannelNoise
    guest: ChannelNoise

    @property
    def household_sizes(self) -> tuple[float, ...]:
        """P(household size = 1..5)."""
        larger = (self.household_of_2, self.household_of_3, self.household_of_4,
                  self.household_of_5)
        return (1.0 - sum(larger), *larger)


def _parse(table: str) -> dict[str, list[float]]:
    rows = (line.split() for line in table.strip().splitlines())
    return {row[0]: [float(v) for v in row[1:]] for row in rows}


def _build(level: int) -> Rates:
    world = _parse(_WORLD)
    channel = _parse(_CHANNEL)
    channel_names = {f.name for f in fields(ChannelNoise)}
    world_names = {f.name for f in fields(Rates)} - {"name", "accounts", "crm", "guest"}
    if set(channel) != channel_names or set(world) != world_names:
        raise RuntimeError("rates tables and dataclasses disagree; fix customerlens.synth.rates")
    kwargs: dict[str, Any] = {k: v[level] for k, v in world.items()}
    for c, source in enumerate(("accounts", "crm", "guest")):
        kwargs[source] = ChannelNoise(**{k: v[3 * c + level] for k, v in channel.items()})
    return Rates(name=DIFFICULTIES[level], **kwargs)


RATES: dict[str, Rates] = {name: _build(i) for i, name in enumerate(DIFFICULTIES)}


def get_rates(difficulty: str) -> Rates:
    """Return the rates of a difficulty.

    Parameters
    ----------
    difficulty : str
        One of ``"easy"``, ``"default"``, ``"hard"``.

    Raises
    ------
    ValueError
        If the difficulty is unknown.
    """
    try:
        return RATES[difficulty]
    except KeyError:
        raise ValueError(
            f"unknown difficulty {difficulty!r}; use one of {', '.join(DIFFICULTIES)}"
        ) from None

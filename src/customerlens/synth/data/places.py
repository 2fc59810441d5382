"""UK postcode areas, streets and e-mail providers.

``AREAS`` columns: ``area  post_town  region  weight  dialling_code  districts``. The weight is
roughly the population in hundreds of thousands; ``districts`` lists district numbers (ranges
``a-b`` or literal codes such as ``1A``), so that outward codes look like ``SW1A``, ``M1``,
``CF10``. Inward codes are generated. Regions: eng, lon (London), mid (urban areas with large
South Asian communities), wal, sco, ni.
"""

from __future__ import annotations

AREAS = """
AB Aberdeen sco 5 01224 10-16,21-25,30-39,41-45,51-56
AL St_Albans eng 3 01727 1-10
B Birmingham mid 16 0121 1-80,90-98
BA Bath eng 4 01225 1-16
BB Blackburn mid 4 01254 1-12,18
BD Bradford mid 6 01274 1-24
BH Bournemouth eng 5 01202 1-25
BL Bolton eng 3.5 01204 0-9
BN Brighton eng 7 01273 1-45
BR Bromley lon 3.5 020 1-8
BS Bristol eng 8 0117 1-41
BT Belfast ni 12 028 1-94
CA Carlisle eng 2.5 01228 1-28
CB Cambridge eng 4 01223 1-25
CF Cardiff wal 6 029 3,5,10-11,14-15,23-24,31-48,61-64,71-72,81-83
CH Chester eng 5 01244 1-8,41-49,60-66
CM Chelmsford eng 6 01245 0-24,77
CO Colchester eng 3 01206 1-16
CR Croydon lon 3.5 020 0,2-9
CT Canterbury eng 4 01227 1-21
CV Coventry eng 6 024 1-13,21-23,31-37,47
CW Crewe eng 3 01270 1-12
DA Dartford eng 3.5 01322 1-18
DD Dundee sco 2.5 01382 1-11
DE Derby eng 7 01332 1-7,11-15,21-24,55-75
DG Dumfries sco 1.2 01387 1-16
DH Durham eng 2.5 0191 1-9,97-98
DL Darlington eng 3 01325 1-17
DN Doncaster eng 7 01302 1-41
DT Dorchester eng 1.8 01305 1-11
DY Dudley mid 4 01384 1-14
E London lon 9 020 1,1W,2-18,20
EC London lon 0.6 020 1A,1M,1N,1R,1V,1Y,2A,2M,2N,2R,2V,2Y,3A,3M,3N,3R,3V,4A,4M,4N,4R,4V,4Y
EH Edinburgh sco 7 0131 1-55
EN Enfield lon 4 020 1-11
EX Exeter eng 4.5 01392 1-39
FK Falkirk sco 2.5 01324 1-21
FY Blackpool eng 2.5 01253 1-8
G Glasgow sco 11 0141 1-84
GL Gloucester eng 5 01452 1-20,50-56
GU Guildford eng 7 01483 1-35,46-52
HA Harrow lon 4.5 020 0-9
HD Huddersfield eng 3 01484 1-9
HG Harrogate eng 1.5 01423 1-5
HP Hemel_Hempstead eng 4.5 01442 1-23,27
HR Hereford eng 2 01432 1-9
HU Hull eng 5 01482 1-20
HX Halifax eng 1.8 01422 1-7
IG Ilford lon 3 020 1-11
IP Ipswich eng 5 01473 1-33
IV Inverness sco 2 01463 1-63
KA Kilmarnock sco 3.5 01563 1-30
KT Kingston_upon_Thames lon 5 020 1-24
KY Kirkcaldy sco 3.5 01592 1-16
L Liverpool eng 9 0151 1-40,67-75
LA Lancaster eng 3 01524 1-23
LD Llandrindod_Wells wal 0.5 01597 1-8
LE Leicester mid 9 0116 1-19,65-67
LL Llandudno wal 5 01492 11-78
LN Lincoln eng 3 01522 1-13
LS Leeds eng 8 0113 1-29
LU Luton mid 3 01582 1-7
M Manchester eng 12 0161 1-50,90
ME Rochester eng 5 01634 1-20
MK Milton_Keynes eng 4.5 01908 1-19,40-46
ML Motherwell sco 3 01698 1-12
N London lon 7 020 1,1C,1P,2-22
NE Newcastle_upon_Tyne eng 10 0191 1-71
NG Nottingham eng 9 0115 1-25,31-34
NN Northampton eng 5.5 01604 1-18,29
NP Newport wal 4 01633 4,7-8,10-26,44
NR Norwich eng 6 01603 1-35
NW London lon 5 020 1-11
OL Oldham mid 4.5 0161 1-16
OX Oxford eng 6 01865 1-29,33,39,44,49
PA Paisley sco 3 0141 1-49,60-78
PE Peterborough eng 8 01733 1-38
PH Perth sco 1.5 01738 1-50
PL Plymouth eng 5 01752 1-35
PO Portsmouth eng 8 023 1-41
PR Preston eng 5.5 01772 0-9,25-26
RG Reading eng 8 0118 1-45
RH Redhill eng 5.5 01737 1-20
RM Romford lon 4.5 01708 1-20
S Sheffield eng 12 0114 1-45,60-66,70-75,80-81
SA Swansea wal 6 01792 1-73
SE London lon 10 020 1,1P,2-28
SG Stevenage eng 4 01438 1-19
SK Stockport eng 5 0161 1-23
SL Slough mid 4 01753 0-9
SM Sutton lon 2 020 1-7
SN Swindon eng 4.5 01793 1-16,25-26,99
SO Southampton eng 6 023 14-53
SP Salisbury eng 2 01722 1-11
SR Sunderland eng 3 0191 1-9
SS Southend-on-Sea eng 5 01702 0-17,22
ST Stoke-on-Trent eng 7 01782 1-21
SW London lon 8 020 1A,1E,1H,1P,1V,1W,1X,1Y,2-20
SY Shrewsbury eng 3 01743 1-25
TA Taunton eng 3 01823 1-24
TD Galashiels sco 1 01896 1-15
TF Telford eng 2 01952 1-13
TN Tunbridge_Wells eng 6 01892 1-40
TQ Torquay eng 3 01803 1-14
TR Truro eng 3 01872 1-27
TS Middlesbrough eng 5.5 01642 1-29
TW Twickenham lon 4.5 020 1-20
UB Southall lon 3.5 020 1-11
W London lon 6 020 1A,1B,1C,1D,1F,1G,1H,1J,1K,1S,1T,1U,1W,2-14
WA Warrington eng 5.5 01925 1-16
WC London lon 0.5 020 1A,1B,1E,1H,1N,1R,1V,1X,2A,2B,2E,2H,2N,2R
WD Watford eng 3 01923 3-7,17-19,23-25
WF Wakefield eng 5 01924 1-17
WN Wigan eng 3 01942 1-8
WR Worcester eng 3.5 01905 1-15
WS Walsall mid 4 01922 1-15
WV Wolverhampton mid 4.5 01902 1-16
YO York eng 5 01904 1-62
"""

# Multipliers on surname-origin weights by region (origins not listed keep weight 1).
REGION_ORIGIN_WEIGHT: dict[str, dict[str, float]] = {
    "eng": {"wal": 0.9, "sco": 0.7, "sam": 0.7, "sah": 0.7, "eeu": 1.2},
    "lon": {"wal": 0.5, "sco": 0.5, "sam": 2.0, "sah": 2.0, "eeu": 2.0, "eas": 3.0, "afr": 5.0,
            "iri": 1.3},
    "mid": {"wal": 0.5, "sco": 0.5, "sam": 5.0, "sah": 5.0, "eeu": 1.5, "afr": 1.5},
    "wal": {"wal": 3.5, "sco": 0.4, "sam": 0.4, "sah": 0.4, "iri": 0.6},
    "sco": {"wal": 0.2, "sco": 5.0, "iri": 1.5, "sam": 0.4, "sah": 0.4},
    "ni": {"wal": 0.2, "sco": 2.5, "iri": 8.0, "sam": 0.1, "sah": 0.1, "eeu": 0.8},
}

# Inward codes never use these letters in their last two positions.
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

STREET_NAMES = """
High Station Church Park Victoria Green Manor Mill School Queens Kings New Albert Windsor Grange
Main Chapel North South West East London York Alexandra Springfield Highfield Church_Hill Orchard
Meadow Willow Oak Elm Beech Ash Birch Cedar Chestnut Holly Rose Poplar Sycamore Hawthorn Lime
Cherry Maple Laurel Ivy Heather Acacia Beacon Bridge Brook Castle Cemetery Chester Clarence
Coronation Cromwell Crown Dale Derby Duke Edward Farm Field George Glebe Gordon Grove Hall
Harrow Hill Hillside Jubilee Kingsway Lancaster Lodge Marlborough Market Mount Nelson Newton
Nursery Oxford Peel Pembroke Pine Priory Princes Richmond Riverside St_Johns St_Marys
St_Andrews Stanley Sunnyside Thornton Trinity Union Vicarage Wellington Westfield Woodland
Woodside Valley Moor Kent Cambridge Denmark Granville Milton Shakespeare Tennyson Byron Wordsworth
Beaconsfield Belmont Broadway Cavendish Clifton Devonshire Egerton Fairfield Gladstone Hamilton
Hampton Hanover Kingston Mayfield Melbourne Norfolk Portland Rectory Regent Salisbury Somerset
Stafford Talbot Warwick Wharf Wolseley Fern Foxglove Lavender Primrose Bluebell Meadowsweet
"""

# Street types: full name, then abbreviations seen in real data ("-" = no abbreviation).
STREET_TYPES = """
Road 30 Rd
Street 18 St
Avenue 9 Ave,Av
Lane 8 Ln
Close 7 Cl
Drive 6 Dr
Crescent 4 Cres
Gardens 3 Gdns
Place 3 Pl
Grove 3 Gr
Terrace 3 Terr,Ter
Court 2 Ct
Way 4 -
Hill 1 -
Walk 1 -
Row 1 -
Square 1 Sq
Mews 1 -
Rise 1 -
View 1 -
Park 1 Pk
"""

# E-mail providers: domain, weight for people born before 1970, weight for younger people,
# whether the provider ignores dots and understands "+tag" (gmail / googlemail).
EMAIL_PROVIDERS = """
gmail.com 22 42 y
googlemail.com 3 3 y
hotmail.co.uk 16 11 n
hotmail.com 4 4 n
outlook.com 5 8 n
live.co.uk 3 3 n
yahoo.co.uk 10 5 n
yahoo.com 3 2 n
btinternet.com 12 2 n
icloud.com 3 11 n
me.com 1 1 n
aol.com 4 0.5 n
aol.co.uk 2 0.3 n
sky.com 5 2 n
virginmedia.com 3 1 n
talktalk.net 3 0.5 n
ntlworld.com 2 0.2 n
protonmail.com 0.2 1 n
"""

HANDLE_WORDS = """
sunny blue red fox star tiger happy music footie gamer angel dragon rose moon sky lucky pink cool
magic little big mad silver golden honey cherry storm shadow wolf eagle bear bunny kitty princess
king queen rock dance smile dream pixie ninja panda coffee chocolate biker surfer rugby cricket
chelsea gooner villa spurs toon red_devil mrs mr the real sweet wild lazy crazy smiley daisy
"""

PLUS_TAGS = ("shop", "orders", "news", "online", "deals", "store")

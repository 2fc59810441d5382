"""Product categories and brands for the synthetic catalogue.

``LEAVES`` columns: ``category_code  median_price_gbp  breadth``; breadth is the relative number
of products in the leaf. The first part of the code is the top-level category.
``BRANDS`` columns per top-level category: ``brand  popularity  price_multiplier``.
"""

from __future__ import annotations

LEAVES = """
electronics.smartphone 320 10
electronics.audio.headphones 55 8
electronics.audio.speaker 70 5
electronics.video.tv 420 6
electronics.tablet 280 4
electronics.clocks 140 4
electronics.camera.photo 380 3
electronics.telephone 30 2
appliances.kitchen.refrigerators 480 4
appliances.kitchen.washer 380 4
appliances.kitchen.kettle 30 4
appliances.kitchen.blender 45 3
appliances.kitchen.microwave 90 3
appliances.kitchen.coffee_machine 150 3
appliances.environment.vacuum 140 4
appliances.iron 35 2
appliances.personal.hair_cutter 35 3
computers.notebook 650 7
computers.desktop 700 3
computers.peripherals.mouse 25 4
computers.peripherals.keyboard 40 3
computers.peripherals.monitor 180 4
computers.peripherals.printer 120 3
computers.components.videocards 400 3
computers.network.router 70 2
furniture.living_room.sofa 550 4
furniture.living_room.chair 120 3
furniture.living_room.cabinet 200 3
furniture.bedroom.bed 400 3
furniture.bedroom.blanket 35 3
furniture.kitchen.table 180 3
furniture.office.chair 150 3
furniture.bathroom.towel 15 2
apparel.shoes 60 8
apparel.shoes.sneakers 70 6
apparel.jeans 45 4
apparel.shirt 30 4
apparel.jacket 90 4
apparel.dress 50 4
apparel.underwear 15 3
sport.bicycle 450 3
sport.fitness.equipment 40 3
sport.tennis 60 2
sport.football 25 2
sport.camping.tent 120 2
sport.swimming 20 2
kids.toys.construction 35 4
kids.toys.dolls 20 3
kids.carriage 250 3
kids.skates 40 2
kids.games 25 3
beauty.fragrance 55 5
beauty.skincare 20 5
beauty.makeup 14 5
beauty.haircare 9 4
construction.tools.drill 75 3
construction.tools.saw 90 2
construction.tools.screw 15 2
construction.components.lighting 35 3
country_yard.lawn_mower 180 3
country_yard.bbq 150 2
country_yard.garden.furniture 160 2
auto.accessories.videoregister 70 2
auto.accessories.compressor 40 2
auto.accessories.player 60 1
stationery.cartridge 20 3
stationery.paper 8 2
"""

BRANDS: dict[str, str] = {
    "electronics": """
        samsung 10 1.05  apple 9 1.6  xiaomi 7 0.75  huawei 4 0.85  sony 5 1.2  lg 4 1.0
        jbl 3 0.9  philips 3 0.9  panasonic 2 1.0  oppo 2 0.8  nokia 2 0.7  bose 2 1.5
        garmin 2 1.3  canon 2 1.2  nikon 1.5 1.3  honor 1.5 0.7
    """,
    "appliances": """
        bosch 8 1.2  samsung 5 1.1  lg 4 1.1  beko 5 0.75  indesit 4 0.7  hotpoint 4 0.85
        dyson 4 1.8  philips 4 1.0  tefal 4 0.85  russellhobbs 5 0.7  delonghi 3 1.3
        kenwood 3 1.0  morphyrichards 3 0.8  braun 3 1.1  remington 2 0.8  smeg 1.5 1.9
    """,
    "computers": """
        lenovo 8 1.0  hp 8 1.0  asus 6 1.0  acer 5 0.85  dell 6 1.1  apple 5 1.7  msi 2 1.2
        logitech 6 0.9  razer 2 1.4  epson 3 0.9  canon 3 0.9  tp-link 4 0.7  netgear 2 1.0
        gigabyte 2 1.1  corsair 2 1.2
    """,
    "furniture": """
        ikea 10 0.7  habitat 4 1.3  silentnight 4 1.0  ercol 1.5 2.0  hygena 3 0.8
        dunelm 5 0.9  loaf 1.5 1.8  made 2 1.2  hypnos 1 1.7  brabantia 2 1.0
    """,
    "apparel": """
        nike 10 1.2  adidas 9 1.1  puma 4 0.9  reebok 3 0.9  newbalance 3 1.1  levis 4 1.1
        clarks 4 1.0  skechers 4 0.9  converse 3 0.9  vans 3 0.9  underarmour 2 1.1
        thenorthface 2 1.5  fila 1.5 0.8  asics 2 1.1  next 6 0.8  boden 1.5 1.3
    """,
    "sport": """
        carrera 3 0.9  boardman 2 1.2  wilson 3 1.0  head 2 1.1  speedo 3 0.9  everlast 2 0.9
        coleman 2 0.9  mitre 2 0.8  nike 3 1.1  adidas 3 1.1  trek 1.5 1.8  decathlon 4 0.6
    """,
    "kids": """
        lego 10 1.3  mattel 5 0.9  hasbro 5 0.9  fisherprice 4 0.9  playmobil 3 1.1  vtech 3 0.8
        silvercross 2 1.6  joie 2 1.0  chicco 2 0.9  barbie 3 0.9  micro 2 1.0
    """,
    "beauty": """
        loreal 8 0.9  nivea 6 0.6  maybelline 5 0.7  clinique 3 1.5  lancome 2 1.9  dior 2 2.3
        chanel 1.5 2.6  garnier 5 0.6  olay 4 0.8  rimmel 4 0.6  elemis 1.5 1.8  no7 5 0.9
        thebodyshop 3 0.9
    """,
    "construction": """
        bosch 6 1.1  makita 5 1.2  dewalt 5 1.3  blackdecker 5 0.8  ryobi 4 0.9  stanley 4 0.8
        philips 3 1.0  osram 2 0.9  einhell 3 0.7
    """,
    "country_yard": """
        flymo 5 0.8  bosch 4 1.1  weber 4 1.5  mountfield 3 1.2  hayter 1.5 1.6  keter 3 0.9
        outsunny 3 0.7
    """,
    "auto": """
        nextbase 5 1.1  ring 4 0.8  pioneer 3 1.1  halfords 5 0.8  garmin 2 1.3
    """,
    "stationery": """
        hp 6 1.0  canon 5 1.0  epson 5 1.0  brother 4 0.9  pukka 3 0.8  ryman 3 0.8
    """,
}

# Top-level categories whose items are often bought several at a time.
MULTI_QUANTITY = ("beauty", "stationery", "kids", "apparel", "construction")

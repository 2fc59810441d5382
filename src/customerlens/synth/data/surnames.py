"""Common UK surnames with approximate frequencies, and pieces for a long tail of rarer ones.

``HEAD`` columns: ``surname  weight  origin``; the weight is roughly bearers per 100,000 people
in Great Britain. ``origin`` drives regional frequencies (Welsh names in Wales, ...) and the
first-name pool of a household: gb (general British), wal, sco, iri (Irish), sam (South Asian,
mostly Muslim naming), sah (South Asian, Hindu / Sikh naming), eeu (East European), eas (East
Asian), afr (West African).
The tail is built from syllable patterns (``TAIL_*``) into tens of thousands of plausible
English-looking surnames, each individually rare.
"""

from __future__ import annotations

HEAD = """
Smith 1260 gb
Jones 750 wal
Williams 600 wal
Taylor 500 gb
Brown 500 gb
Davies 450 wal
Evans 350 wal
Wilson 310 gb
Thomas 300 wal
Johnson 300 gb
Roberts 290 wal
Robinson 250 gb
Thompson 250 gb
Wright 240 gb
Walker 230 gb
White 220 gb
Edwards 220 wal
Hughes 220 wal
Green 210 gb
Hall 210 gb
Lewis 200 wal
Harris 200 gb
Clarke 200 gb
Patel 200 sah
Jackson 190 gb
Wood 190 gb
Turner 180 gb
Martin 180 gb
Cooper 175 gb
Hill 175 gb
Ward 170 gb
Morris 170 gb
Moore 165 gb
Clark 160 gb
Lee 160 gb
King 160 gb
Baker 155 gb
Harrison 155 gb
Morgan 150 wal
Allen 145 gb
James 145 gb
Scott 140 sco
Phillips 140 gb
Watson 135 gb
Davis 135 gb
Parker 130 gb
Price 130 wal
Bennett 128 gb
Young 125 gb
Griffiths 125 wal
Mitchell 122 gb
Kelly 120 iri
Cook 120 gb
Carter 118 gb
Richardson 115 gb
Bailey 115 gb
Collins 112 gb
Bell 112 sco
Shaw 110 gb
Murphy 110 iri
Miller 108 gb
Cox 106 gb
Richards 105 gb
Khan 105 sam
Marshall 100 gb
Anderson 100 sco
Simpson 98 gb
Ellis 98 gb
Adams 97 gb
Singh 96 sah
Wilkinson 94 gb
Foster 93 gb
Chapman 92 gb
Powell 92 wal
Webb 91 gb
Rogers 90 gb
Gray 89 gb
Mason 88 gb
Ali 88 sam
Hunt 87 gb
Hussain 87 sam
Campbell 86 sco
Matthews 85 gb
Owen 85 wal
Palmer 84 gb
Holmes 83 gb
Mills 82 gb
Barnes 81 gb
Knight 80 gb
Lloyd 80 wal
Butler 79 gb
Russell 78 gb
Barker 77 gb
Fisher 76 gb
Stevens 76 gb
Jenkins 75 wal
Murray 75 sco
Dixon 74 gb
Fletcher 73 gb
Howard 73 gb
Harvey 72 gb
Pearson 72 gb
Gibson 71 gb
Andrews 70 gb
Stewart 70 sco
Reid 68 sco
Fox 67 gb
Graham 67 sco
Wells 66 gb
Lawrence 66 gb
Holland 64 gb
Gardner 64 gb
Rose 63 gb
Dean 63 gb
Ford 62 gb
Stone 62 gb
Hudson 61 gb
Lane 60 gb
Payne 60 gb
Hamilton 60 sco
Ross 59 sco
Robertson 59 sco
Johnston 58 sco
Paterson 56 sco
MacDonald 45 sco
McDonald 50 sco
MacLeod 30 sco
Fraser 45 sco
Kerr 40 sco
Burns 45 sco
Sutherland 30 sco
Thomson 50 sco
Cameron 35 sco
Duncan 30 sco
Wallace 45 sco
Gordon 40 sco
Boyd 30 sco
Ferguson 35 sco
McKenzie 30 sco
Mackenzie 25 sco
Grant 45 sco
Morrison 35 sco
Watt 20 sco
Kennedy 45 iri
O'Brien 45 iri
O'Neill 40 iri
O'Connor 35 iri
Ryan 45 iri
Walsh 50 iri
Byrne 35 iri
Doherty 30 iri
McLaughlin 25 iri
Quinn 30 iri
Gallagher 30 iri
Brennan 20 iri
Kavanagh 15 iri
Maguire 15 iri
Donnelly 20 iri
Smyth 12 iri
Nowak 18 eeu
Kowalski 14 eeu
Wiśniewski 10 eeu
Wójcik 9 eeu
Kowalczyk 9 eeu
Lewandowski 9 eeu
Kamiński 8 eeu
Zieliński 8 eeu
Szymański 7 eeu
Woźniak 7 eeu
Dąbrowski 6 eeu
Popescu 8 eeu
Ionescu 5 eeu
Ahmed 70 sam
Shah 45 sam
Rahman 40 sam
Islam 30 sam
Iqbal 30 sam
Akhtar 30 sam
Mahmood 30 sam
Sharma 30 sah
Kumar 35 sah
Gill 35 sah
Chauhan 15 sah
Mistry 15 sah
Chowdhury 15 sam
Miah 20 sam
Uddin 20 sam
Mirza 10 sam
Malik 25 sam
Qureshi 12 sam
Bibi 8 sam
Chen 20 eas
Wang 15 eas
Li 15 eas
Zhang 10 eas
Liu 10 eas
Wong 15 eas
Nguyen 12 eas
Okafor 6 afr
Okonkwo 5 afr
Adeyemi 6 afr
Mensah 7 afr
Osei 6 afr
Afolabi 5 afr
Cole 55 gb
West 55 gb
Hunter 55 gb
Jordan 45 gb
Spencer 55 gb
Pearce 55 gb
Barrett 50 gb
Burton 50 gb
Austin 45 gb
Bird 48 gb
Dawson 48 gb
Kent 35 gb
Sharp 40 gb
Lambert 40 gb
Porter 45 gb
Webster 45 gb
Watts 48 gb
Cunningham 40 sco
Wheeler 40 gb
Carr 45 gb
Armstrong 50 gb
Atkinson 52 gb
Lucas 45 gb
Day 45 gb
Reynolds 45 gb
Dunn 40 gb
Chambers 45 gb
Newman 42 gb
Holt 40 gb
Hart 45 gb
Perry 45 gb
Berry 45 gb
Booth 45 gb
Ball 45 gb
Francis 45 gb
Hayes 40 iri
Rees 60 wal
Parry 40 wal
Pritchard 25 wal
Vaughan 25 wal
Bevan 20 wal
Howells 15 wal
Rowlands 25 wal
Humphreys 25 wal
Jenkinson 10 gb
Mann 30 gb
Nash 30 gb
Marsh 35 gb
Hopkins 35 wal
Lowe 40 gb
Lamb 35 gb
Hardy 30 gb
Bradley 40 gb
Jennings 35 gb
Oliver 35 gb
Bryant 30 gb
Fuller 25 gb
Saunders 40 gb
Stephens 35 gb
Read 30 gb
Reed 30 gb
Grey 15 gb
Hawkins 35 gb
Gregory 35 gb
Kirby 20 gb
Nicholson 35 gb
Pope 25 gb
Randall 20 gb
Sanders 25 gb
Burgess 35 gb
Buckley 30 gb
Riley 40 gb
Whitehead 30 gb
Woods 40 gb
Hopkinson 10 gb
Potter 30 gb
Walton 30 gb
Sutton 30 gb
Brooks 40 gb
Mclean 25 sco
Goodwin 25 gb
Norris 30 gb
Hale 15 gb
Yates 30 gb
Dale 20 gb
Todd 25 gb
Parsons 30 gb
Fowler 30 gb
Barton 25 gb
Kemp 20 gb
Long 25 gb
Osborne 25 gb
Freeman 30 gb
Nichols 25 gb
Hobbs 20 gb
Manning 25 gb
Briggs 25 gb
Rowe 30 gb
Waters 20 gb
Moss 30 gb
Goddard 20 gb
Herbert 20 gb
Tucker 25 gb
Gilbert 25 gb
Garner 20 gb
Warren 25 gb
Frost 20 gb
Pugh 25 wal
Mathews 10 gb
Philips 6 gb
Thompsett 3 gb
Doe 2 gb
"""

# Long-tail construction: ``prefix + suffix`` and ``onset + rime + suffix``.
TAIL_PREFIXES = """
Ash Black Brad Brom Bur Cal Cam Car Chat Chester Cliff Crom Dal Dar Den Dun East Ed Els Fair Far
Fen Gar Glad Gold Good Gran Hal Ham Har Hawk Hay Hazel Heath Hol Hor Kel Ken Kirk Lang Lark Lin
Lock Mal Mar Mel Mid Mil Nor Oak Old Pem Pen Pick Pres Rad Rams Red Rich Rock Ros Rush Sal Sand
Shel Shep Small South Stan Stock Stam Sun Sut Tam Thorn Tod Wad Wake Wal War Wat Wes Whit Wil Win
Wool York Ather Bas Beck Bel Ber Bing Bir Blen Bol Bow Brack Bram Bre Brig Brook Buck Bux Cad Can
Cart Cher Chil Church Clay Col Cor Cot Cran Cres Cul Dav Dew Ding Dor Down Dray Dud Eld Elm Ever
Farn Fel Fil Fin Fras Frod Gal Gil Glen Gos Grim Had Hart Has Hath Hen Her Hig Hin Horn How Hun
Ing Kem Kin Knot Lam Lath Lea Led Lid Lind Lit Lud Lyn Man Marl Mat Mer Mor Nether New Nut Ock
Os Pad Pal Par Pep Pil Pol Pot Quen Ray Ren Rid Rom Row Rud Rye Sax Scar Sel Sher Shir Sid Skel
Slat Sned Spal Stap Stow Strat Sud Swin Tad Tarl Tem Thack Thur Til Tow Trem Tun Up Ven Wain Walm
Warb Wed Wel Wem Wen Whel Wig Wim Wit Wor Wyn Yar Yat
"""

TAIL_ONSETS = "B Br C Ch Cr D Dr F Fr G Gr H J K L M N P Pr R S Sh St T Th Tr W Wh Bl Sc"

TAIL_RIMES = """
ab ad al am an ap ar as at ell en er es ew ick id il im in ip is it ob od ol om on op or os ot ud
ul um un ur us ut ain eal oor ack ag amp and ang ant arl ash eck eld end ent ern est ill ing ink
ist ock oll ond orm ough ound ow ump unt
"""

TAIL_SUFFIXES = """
ley ton field worth ford wood by ham well more stone bury den hurst wick croft son ridge shaw combe
thorpe dale man er ington ingham sley ston land brook bridge cott cliffe stead ell ett ock kin kins
ings low mer ney nell wright ward win hall hill house side gate fold burn lake mont vale port
rick kirk
"""

"""Hand-written vocabularies for the synthetic shop (names, places, products).

Nothing here is downloaded: the lists are written by hand from general knowledge of UK name and
place frequencies, so that the generator has no data dependency and stays reproducible.
"""

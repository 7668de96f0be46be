"""An installed app's operator values: its configuration (spec section 4) and its services'
values (section 3.9) -- reading, checking, carrying them from one release to another, writing them."""

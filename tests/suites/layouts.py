"""Upstream rows the fake dataset layouts are built from (not in conftest: its name collides across folders)."""

# ImgEdit Basic: 2 items in each of three categories, one in "daily object" (a folder with a space), one bad row.
IMGEDIT_ROWS = {
    "22": {"id": "animal/000001.jpg", "prompt": "add a hat to the cat", "edit_type": "add"},
    "23": {"id": "daily object/000002.jpg", "prompt": "add a spoon", "edit_type": "add"},
    "456": {"id": "animal/000003.jpg", "prompt": "remove the dog", "edit_type": "remove"},
    "1145": {"id": "compose/human/000004.jpg", "prompt": "make him wave and add a tree", "edit_type": "compose"},
    "1146": {"id": "../outside.jpg", "prompt": "escape", "edit_type": "compose"},
    "1001": {"id": "human/000005.jpg", "prompt": "make her jump", "edit_type": "action"},
}


# MagicBrush: sessions 100 (3 turns), 200 (2 turns), 300 (1 turn), 400 (2 turns), rows deliberately out of order.
MB_TURNS = {
    "100": ["Put a hat on him.", "Make the hat red", "add a dog"],
    "200": ["Turn the sky pink", "remove the car"],
    "300": ["make it night"],
    "400": ["Add snow.", "Make the TV bigger"],
}

# Doxygen input filter: the public headers' comments, written in the house style (/* ... */),
# become Doxygen's (/** ... */ before a declaration, /**< ... */ after a member), so the
# headers stay the manual as they are. Section rules (/* ---- ...) stay plain comments.
1s|^/\* |/** @file\n * |
/^[[:space:]]*\/\* -\{3,\}/b
s|^\([[:space:]]*\)/\* |\1/** |
s|^\([[:space:]]*[A-Za-z_][^/]*[^[:space:]]\)\([[:space:]]*\)/\* |\1\2/**< |
# placeholders such as <id> are text, not HTML tags
s|<\([a-z_]*\)>|\\<\1\\>|g

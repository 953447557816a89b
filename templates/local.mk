# templates/: autoresponse templates. Arrives with the autoresponder issue.
EXTRA_DIST += templates/README

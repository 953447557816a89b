dist_man_MANS += doc/sortmail.1 doc/sortmail.conf.5
dist_man_MANS += doc/sortmail-templates.5

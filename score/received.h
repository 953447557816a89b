/* received.h: which relays handed a message over, from its Received headers
 * (scorer module only; no DNS here, see dnsbl.h).
 *
 * A Received header is written by the host that received the message; its
 * "from" clause names the host that sent it, usually with that host's IP in
 * brackets as the receiving MTA saw it on the connection:
 *
 *   from helo.example (rdns.example [192.0.2.1]) by mx ...      Postfix, Sendmail
 *   from helo.example (rdns.example [IPv6:2001:db8::1]) by ...  Postfix, IPv6
 *   from rdns.example ([192.0.2.1]:41234 helo=x) by ...         Exim
 *   from [192.0.2.1] (helo=x) by ...                            Exim, no rDNS
 *   from helo.example (192.0.2.1) by ...                        Exchange, qmail
 *
 * Only the "from" clause is looked at (never the "by" part, which names the
 * receiver), and the first IP there is the sender's: a bracketed one first,
 * else a bare one in parentheses or right after "from".
 *
 * Reading from the top, headers whose sender is trusted (configured networks,
 * and always the private, loopback, link-local and other non-routable ranges)
 * were written by our own side; the first sender that is not trusted is the
 * relay that handed the message to us: the one worth looking up in a
 * blocklist. Headers below it were written by hosts we do not control and
 * may be forged.
 */
#ifndef SM_RECEIVED_H
#define SM_RECEIVED_H

#include <glib.h>

/* An IPv4 or IPv6 address; IPv4-mapped IPv6 addresses are stored as IPv4. */
typedef struct {
	int family;        /* AF_INET or AF_INET6 */
	guint8 addr[16];   /* network order; the first 4 bytes for AF_INET */
} SmIp;

/* An address and a prefix length (bits), as in 192.0.2.0/24. */
typedef struct {
	SmIp ip;
	guint bits;
} SmNet;

/* Parses a textual IPv4 or IPv6 address (no brackets, no zone); FALSE if
 * it is not one. */
gboolean sm_ip_parse(const char *text, SmIp *out);

/* The address as text (dotted quad, or RFC 5952 IPv6). Newly allocated. */
char *sm_ip_to_string(const SmIp *ip);

/* Parses "ADDRESS" or "ADDRESS/BITS"; an address alone is a single host.
 * FALSE if it is neither, or BITS is out of range for the family. */
gboolean sm_net_parse(const char *text, SmNet *out);

gboolean sm_net_contains(const SmNet *net, const SmIp *ip);

/* TRUE for addresses no public blocklist lists because they are not routed
 * on the Internet: private (RFC 1918, IPv6 ULA), loopback, link-local,
 * shared (100.64/10), benchmarking (198.18/15), "this network" (0/8),
 * multicast, reserved (240/4) and the unspecified address. The
 * documentation ranges (192.0.2/24 ...) are not in it: tests use them as
 * stand-ins for public relays. */
gboolean sm_ip_is_private(const SmIp *ip);

/* The DNS name under @zone that looks @ip up, as blocklists expect: the
 * octets of an IPv4 address reversed ("4.3.2.1.zone" for 1.2.3.4), the 32
 * nibbles of an IPv6 address reversed. Newly allocated. */
char *sm_ip_reverse_name(const SmIp *ip, const char *zone);

/* The sending relay's IP in one Received header value (unfolded); FALSE when
 * the header names none (local submission, "by" only, unparseable). */
gboolean sm_received_sender(const char *value, SmIp *out);

/* The untrusted relays of a message, given its Received values from the top:
 * the first sender that is neither in @trusted (of SmNet, may be NULL) nor
 * private, and with @all every untrusted sender below it too (private ones
 * still skipped). Each address at most once. Newly allocated array of SmIp. */
GArray *sm_received_untrusted(const char *const *values, guint n, const GArray *trusted,
                              gboolean all);

#endif

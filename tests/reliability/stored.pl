#!/usr/bin/perl
# stored.pl: what a mailbox holds, checked against what was delivered into it.
# Used by crash-torture.sh (POSIX sh cannot hash thousands of messages fast).
#
#   perl stored.pl MANIFEST maildir ROOT
#   perl stored.pl MANIFEST mbox DIR
#
# MANIFEST has one line per delivered copy: "ADDRESS SHA256", where ADDRESS
# is the value of the copy's first line "Delivered-To: ADDRESS" and SHA256 the
# hash of the copy's exact bytes. A stored message is good when, after at most
# two leading X-Spam-Flag/X-Spam-Status lines (what sortmail prepends), its
# bytes hash to its copy's SHA256. Maildir: every file in any new/ or cur/
# below ROOT. mbox: every file in DIR except *.lock, read as mboxrd (From_
# line, quoted message, one blank line).
#
# Prints "count ADDRESS N" for every manifest line (N may be 0) and
# "bad WHERE REASON" for every stored message that is not good (a partial
# message, damaged bytes, or mail nobody sent). Exits 0 unless it cannot read.
use strict;
use warnings;
use Digest::SHA qw(sha256_hex);
use File::Find;

my ($manifest, $kind, $root) = @ARGV;
die "usage: stored.pl MANIFEST maildir|mbox ROOT\n" unless defined $root;

my (%want, @order, %count);
open my $m, '<', $manifest or die "$manifest: $!\n";
while (<$m>) {
	chomp;
	my ($addr, $sum) = split / /;
	next unless defined $sum;
	$want{$addr} = $sum;
	$count{$addr} = 0;
	push @order, $addr;
}
close $m;

# check WHERE TEXT: one stored message.
sub check {
	my ($where, $text) = @_;
	for (1 .. 2) {
		last unless $text =~ /\AX-Spam-(?:Flag|Status): [^\n]*\n/;
		$text = substr($text, $+[0]);
	}
	my ($addr) = $text =~ /\ADelivered-To: ([^\n]*)\n/;
	if (!defined $addr || !exists $want{$addr}) {
		print "bad $where no known Delivered-To first line (a partial or foreign message)\n";
		return;
	}
	if (sha256_hex($text) ne $want{$addr}) {
		printf "bad %s copy for %s differs from what was sent (%d bytes stored)\n",
			$where, $addr, length $text;
		return;
	}
	$count{$addr}++;
}

sub slurp {
	my ($path) = @_;
	open my $f, '<:raw', $path or die "$path: $!\n";
	local $/;
	my $text = <$f>;
	close $f;
	return defined $text ? $text : '';
}

my @files;
if ($kind eq 'maildir') {
	find({ no_chdir => 1, wanted => sub {
		push @files, $_ if -f $_ && m{/(?:new|cur)/[^/]+\z};
	} }, $root);
	check($_, slurp($_)) for sort @files;
} elsif ($kind eq 'mbox') {
	find({ no_chdir => 1, wanted => sub {
		push @files, $_ if -f $_ && !/\.lock\z/;
	} }, $root);
	for my $box (sort @files) {
		my $text = slurp($box);
		next if $text eq '';
		if ($text !~ /\AFrom /) {
			print "bad $box does not start with a From_ line\n";
			next;
		}
		# Each piece: a From_ line and what follows, up to the next one.
		my @pieces = split /(?<=\n)(?=From )/, $text;
		my $n = 0;
		for my $piece (@pieces) {
			$n++;
			$piece =~ s/\AFrom [^\n]*\n//;
			if ($piece !~ s/\n\n\z/\n/) {
				print "bad $box#$n does not end with a blank line (cut short)\n";
				next;
			}
			$piece =~ s/^>(>*From )/$1/mg;
			check("$box#$n", $piece);
		}
	}
} else {
	die "stored.pl: unknown kind $kind\n";
}
print "count $_ $count{$_}\n" for @order;

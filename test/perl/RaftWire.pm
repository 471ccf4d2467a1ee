# test/perl/RaftWire.pm — builds raft_ext wire messages by hand, for tests
# that play a hostile peer (forged senders, out-of-range terms).  It follows
# the format of src/raft/encoding.c (header "RF" | version | type |
# clusterId (8 bytes, little endian), then LEB128 varints) and of
# src/payload.h (a statement entry "RX", version 3).  Messages built here
# are handed to a node with SELECT raft_ext.deliver('\x...'::bytea).
package RaftWire;
use strict;
use warnings;
use Math::BigInt;

use constant {
	WIRE_VERSION    => 1,
	APPEND_ENTRIES  => 1,
	REQUEST_VOTE    => 3,
	ENTRY_NORMAL    => 0,
};

# Unsigned LEB128; accepts numbers or decimal strings up to 2^64 - 1.
sub varint
{
	my ($v) = @_;
	my $n = Math::BigInt->new("$v");
	my $out = '';
	while ($n >= 0x80)
	{
		my $low = $n->copy->band(0x7f)->numify;
		$out .= chr($low | 0x80);
		$n->brsft(7);
	}
	return $out . chr($n->numify);
}

# The cluster id of raft_ext.cluster_name $name, as the node computes it
# (hash_bytes_extended of the name, seed 'raftExt1'), via SQL on any node:
# returns the SQL expression whose value (a signed bigint) is the id.
sub cluster_id_sql
{
	return q{SELECT hashtextextended(current_setting('raft_ext.cluster_name'), x'7261667445787431'::bigint)};
}

sub _u64le
{
	my ($v) = @_;
	my $n = Math::BigInt->new("$v");
	$n += Math::BigInt->new(2)**64 if $n < 0;
	my $out = '';
	for (1 .. 8)
	{
		$out .= chr($n->copy->band(0xff)->numify);
		$n->brsft(8);
	}
	return $out;
}

sub _header
{
	my ($type, $cluster_id, $from, $to, $term) = @_;
	return 'RF' . chr(WIRE_VERSION) . chr($type) . _u64le($cluster_id)
	  . varint($from) . varint($to) . varint($term);
}

# AppendEntries; entries: [ { term => T, data => bytes }, ... ]
sub append_entries
{
	my (%m) = @_;
	my $s = _header(APPEND_ENTRIES, @m{qw(cluster_id from to term)})
	  . varint($m{prev_index}) . varint($m{prev_term}) . varint($m{commit})
	  . varint(0)    # readSeq
	  . varint(scalar @{ $m{entries} // [] });
	for my $e (@{ $m{entries} // [] })
	{
		$s .= varint($e->{term}) . chr(ENTRY_NORMAL) . varint(length $e->{data}) . $e->{data};
	}
	return $s;
}

sub request_vote
{
	my (%m) = @_;
	return _header(REQUEST_VOTE, @m{qw(cluster_id from to term)})
	  . varint($m{last_index}) . varint($m{last_term}) . chr($m{transfer} ? 1 : 0);
}

# A statement entry's payload (version 3, no settings), run as $role.
sub statement_payload
{
	my ($role, $sql) = @_;
	return 'RX' . chr(3) . _u64le(0) . pack('v', length $role) . $role
	  . chr(0) . pack('V', length $sql) . $sql;
}

# '\x...' literal for bytea.
sub bytea
{
	my ($s) = @_;
	return "'\\x" . unpack('H*', $s) . "'::bytea";
}

1;

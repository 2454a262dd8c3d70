/**
 * The spawner's whole program, in Perl (perl-base, present on every Debian/Ubuntu system and
 * in the node:*-slim images; core modules only: POSIX). Perl because a fork of a 5 MB Perl
 * process costs about half the CPU of a fork of a Node.js process, and none of the worker's.
 *
 * Protocol (binary-safe, one pipe each way):
 * - worker → spawner, on stdin: frames `LEN\n` + LEN bytes of NUL-separated fields:
 *   `S id program nargs args... KEY=VALUE...` starts a program in a session (process group)
 *   of its own, stdin /dev/null, stdout and stderr piped; `K id signo` signals the group of a
 *   program not yet reaped; `D id` closes a program's output pipes (a process left its group
 *   holding them open); `Z id dir` removes a directory tree (symlinks are removed, never
 *   followed); `Y id dir free` empties an attempt's temp directory for the next attempt and
 *   renames it to `free` (recycle, below), or removes it as `Z` does when it cannot.
 * - spawner → worker, on stdout: frames `OP id LEN\n` + LEN bytes: `R` ready (once, id 0),
 *   `P` spawned (pid), `F` could not start (errno), `O`/`E` stdout/stderr bytes,
 *   `X` exited (`code signal leftovers`: the group's other processes were SIGKILLed when
 *   leftovers is 1), `C` a stream reached end-of-file (`1` or `2`), `Z` the answer to a `Z`
 *   or `Y` request: the errno (0: done; for `Y`, -1: removed, not kept).
 * A program's exit and its pipes' end-of-file are separate events, as with child_process.
 * When stdin reaches end-of-file (the worker is gone, however it died) and argv[0] is 1, every
 * program still running is SIGKILLed with its group, and every process carrying the
 * TRELLIS_ATTEMPT_MARK of a program it still knows (limits.ts: one that left the group), then
 * the spawner exits: it is the reaper for the programs it started (reaper.ts serves only
 * programs spawned on the worker's event loop). Before it exits it removes the directories
 * still waiting for reuse: those whose names begin with argv[1] (the worker's prefix for them).
 */
export const SPAWNER_SOURCE = String.raw`
use strict; use warnings; use POSIX ();
my $reap = ($ARGV[0] // '1') eq '1';
my $freeprefix = $ARGV[1] // '';
$SIG{$_} = 'IGNORE' for qw(INT TERM HUP PIPE);
my $chld = 0;
$SIG{CHLD} = sub { $chld = 1 };
binmode STDIN; binmode STDOUT;
my (%kid, %byfd, %bypid, %bystatus);
my $in = '';
# Frames are gathered and written once per turn of the loop (flush, before it waits): one pipe
# write and one wake-up of the worker for a program's P, output, C and X that came together.
my $obuf = '';
sub out {
  my ($op, $id, $data) = @_;
  $obuf .= "$op $id " . length($data) . "\n" . $data;
}
sub flush {
  while (length $obuf) {
    my $n = syswrite(STDOUT, $obuf);
    if (!defined $n) { next if $!{EINTR}; exit 0; }
    substr($obuf, 0, $n) = '';
  }
}
sub done { my $id = shift; my $k = $kid{$id}; delete $kid{$id} if $k && $k->{exited} && !$k->{open}; }
sub closefd {
  my ($fd) = @_;
  my ($id, $stream, $fh) = @{ delete $byfd{$fd} };
  close $fh;
  my $k = $kid{$id};
  $k->{open}--;
  return $k;
}
sub reap {
  while ((my $pid = waitpid(-1, POSIX::WNOHANG())) > 0) {
    my $st = $?;
    my $id = delete $bypid{$pid};
    next unless defined $id;
    # Its exec's outcome first: P (or F, and nothing more) always comes before X.
    next if $kid{$id}{status} && !started($id, 1);
    my $left = kill('-KILL', $pid) ? 1 : 0;
    my ($code, $sig) = ($st & 127) ? (-1, $st & 127) : ($st >> 8, 0);
    $kid{$id}{exited} = 1;
    out('X', $id, "$code $sig $left");
    done($id);
  }
}
sub start {
  my ($id, $prog, $args, $env) = @_;
  my ($or, $ow, $er, $ew, $sr, $sw);
  unless (pipe($or, $ow) && pipe($er, $ew) && pipe($sr, $sw)) { out('F', $id, $! + 0); return; }
  my $pid = fork;
  if (!defined $pid) { out('F', $id, $! + 0); return; }
  if ($pid == 0) {
    POSIX::setsid();
    $SIG{$_} = 'DEFAULT' for qw(INT TERM HUP PIPE CHLD);
    open(STDIN, '<', '/dev/null');
    POSIX::dup2(fileno($ow), 1);
    POSIX::dup2(fileno($ew), 2);
    %ENV = %$env;
    { no warnings; exec { $prog } $prog, @$args; }
    my $e = $! + 0;
    syswrite($sw, "$e");
    POSIX::_exit(127);
  }
  close $ow; close $ew; close $sw;
  # Not waited for here: the status pipe reaches end-of-file when the exec succeeds (it is
  # close-on-exec) or carries the exec's errno; the loop reads it (started), so the spawner
  # forks the next program while this one execs.
  $kid{$id} = { pid => $pid, exited => 0, open => 2, status => $sr, out => $or, err => $er,
    mark => $env->{TRELLIS_ATTEMPT_MARK} };
  $bypid{$pid} = $id;
  $bystatus{fileno $sr} = $id;
}
sub started {
  my ($id, $reaped) = @_;
  my $k = $kid{$id};
  my $sr = delete $k->{status};
  delete $bystatus{fileno $sr};
  my $status = '';
  while (1) {
    my $n = sysread($sr, my $buf, 64);
    if (!defined $n) { next if $!{EINTR}; last; }
    last if $n == 0;
    $status .= $buf;
  }
  close $sr;
  my ($or, $er) = (delete $k->{out}, delete $k->{err});
  if ($status ne '') {
    waitpid($k->{pid}, 0) unless $reaped;
    delete $bypid{$k->{pid}};
    delete $kid{$id};
    close $or; close $er;
    out('F', $id, $status);
    return 0;
  }
  $byfd{fileno $or} = [$id, 1, $or];
  $byfd{fileno $er} = [$id, 2, $er];
  out('P', $id, $k->{pid});
  return 1;
}
sub killmarks {
  my @needles = map { "TRELLIS_ATTEMPT_MARK=$_\0" } @_;
  return 0 unless @needles;
  my $found = 0;
  opendir(my $dh, '/proc') or return 0;
  for my $p (grep { /^\d+$/ && $_ != $$ } readdir $dh) {
    open(my $fh, '<:raw', "/proc/$p/environ") or next;
    my $e = do { local $/; <$fh> };
    close $fh;
    next unless defined $e;
    for my $n (@needles) { if (index($e, $n) >= 0) { $found++ if kill('KILL', $p); last; } }
  }
  closedir $dh;
  return $found;
}
sub rmtree {
  my $path = shift;
  if (-l $path || !-d _) { unlink $path; return; }
  rmtree("$path/$_") for entries($path);
  rmdir $path;
}
# A directory's entries: () when it cannot be read.
sub entries {
  my $dir = shift;
  opendir(my $dh, $dir) or return ();
  my @entries = grep { $_ ne '.' && $_ ne '..' } readdir $dh;
  closedir $dh;
  return @entries;
}
sub isempty {
  my $dir = shift;
  opendir(my $dh, $dir) or return 0;
  my @entries = grep { $_ ne '.' && $_ ne '..' } readdir $dh;
  closedir $dh;
  return !@entries;
}
# An attempt's temp directory made ready for the next attempt, so that it creates no inode:
# everything the program left goes, but params.json (a regular file with one link, emptied) and
# checkpoint/ (a directory, emptied) stay; modes are reset; then it is renamed to $free. Symlinks
# are never followed. 0 when it is kept; anything else left, or anything unlike what the worker
# made: removed as by Z, answered -1 (or Z's errno).
sub recycle {
  my ($dir, $free) = @_;
  if (lstat($dir) && -d _) {
    for my $e (entries($dir)) {
      my $p = "$dir/$e";
      my @st = lstat $p;
      next if $e eq 'params.json' && -f _ && $st[3] == 1;
      if ($e eq 'checkpoint' && -d _) { rmtree("$p/$_") for entries($p); next; }
      rmtree($p);
    }
    my @left = sort(entries($dir));
    my $ckpt = "$dir/checkpoint";
    if (join('/', @left) eq 'checkpoint/params.json' && lstat($ckpt) && -d _ && isempty($ckpt)
      && truncate("$dir/params.json", 0) && chmod(0600, "$dir/params.json") && chmod(0700, $ckpt)
      && chmod(0700, $dir) && rename($dir, $free)) {
      return 0;
    }
  }
  rmtree($dir);
  return -e $dir ? $! + 0 || 1 : -1;
}
sub request {
  my @f = split /\0/, shift, -1;
  my $op = shift @f;
  my $id = shift @f;
  if ($op eq 'S') {
    my $prog = shift @f;
    my $nargs = shift @f;
    my @args = splice(@f, 0, $nargs);
    my %env = map { my $i = index($_, '='); (substr($_, 0, $i), substr($_, $i + 1)) } grep { index($_, '=') > 0 } @f;
    start($id, $prog, \@args, \%env);
  } elsif ($op eq 'K') {
    my $k = $kid{$id};
    kill(-$f[0], $k->{pid}) if $k && !$k->{exited} && $f[0] =~ /^\d+$/;
  } elsif ($op eq 'Z') {
    rmtree($f[0]);
    out('Z', $id, -e $f[0] ? $! + 0 || 1 : 0);
  } elsif ($op eq 'Y') {
    out('Z', $id, recycle($f[0], $f[1]));
  } elsif ($op eq 'D') {
    for my $fd (grep { $byfd{$_}[0] eq $id } keys %byfd) { closefd($fd); }
    done($id);
  }
}
out('R', 0, '');
while (1) {
  $chld = 0;
  reap();
  my $rin = '';
  vec($rin, 0, 1) = 1;
  vec($rin, $_, 1) = 1 for keys %byfd, keys %bystatus;
  flush();
  my $n = select(my $rout = $rin, undef, undef, %bypid ? 0.05 : undef);
  next if $n <= 0;
  # Starts first, so that a program's P comes before its output.
  for my $fd (keys %bystatus) {
    started($bystatus{$fd}, 0) if vec($rout, $fd, 1) && $bystatus{$fd};
  }
  for my $fd (keys %byfd) {
    next unless vec($rout, $fd, 1);
    my ($id, $stream, $fh) = @{ $byfd{$fd} };
    my $r = sysread($fh, my $buf, 65536);
    next if !defined $r && $!{EINTR};
    if ($r) { out($stream == 1 ? 'O' : 'E', $id, $buf); next; }
    closefd($fd);
    out('C', $id, $stream);
    done($id);
  }
  if (vec($rout, 0, 1)) {
    my $r = sysread(STDIN, $in, 65536, length $in);
    next if !defined $r && $!{EINTR};
    if (!$r) {
      if ($reap) {
        # A program still exec'ing may not lead its own group yet: its pid is killed too.
        for (grep { !$kid{$_}{exited} } keys %kid) { kill('-KILL', $kid{$_}{pid}); kill('KILL', $kid{$_}{pid}); }
        # Then what carries a program's mark (a process that left its group), until none is left.
        my @marks = grep { defined } map { $kid{$_}{mark} } keys %kid;
        for (1 .. 20) { last unless killmarks(@marks); }
      }
      if ($freeprefix =~ m{^(.*)/([^/]+)$}) {
        my ($parent, $stem) = ($1, $2);
        rmtree("$parent/$_") for grep { index($_, $stem) == 0 } entries($parent);
      }
      exit 0;
    }
    while ($in =~ /^(\d+)\n/) {
      my $len = $1;
      my $start = length($len) + 1;
      last if length($in) < $start + $len;
      my $payload = substr($in, $start, $len);
      substr($in, 0, $start + $len) = '';
      request($payload);
    }
  }
}
`;

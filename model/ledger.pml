/*
 * SPIN model of the lineage ledger protocol (docs/ledger.md).
 * What is modelled, the abstractions and how to run it: model/README.md.
 *
 * One VNF record, held by a ledger process that applies compare-and-swap
 * requests atomically; NH hosts and an operator send it full new records
 * over a channel that loses and duplicates requests and loses replies.
 * Every host operation is read -> check (on the copy read) -> CAS, as the
 * document says. Hosts crash at marked points, keeping what is persisted.
 *
 * Switches (spin -D...):
 *   CHECK_STATE   also check property (e): the state is preserved and the
 *                 latest snapshot stays restorable
 *   FIX           the protocol fixes of model/README.md: FIX_FINAL,
 *                 FIX_FENCE, FIX_CONFIRM (each can be set alone; the last two
 *                 put an activation id in the record unless FIX_NO_ACTID)
 *   BUG_NO_FENCE  stop/pause/snapshot present the token but nobody compares it
 *   BUG_NO_CAS    the ledger writes without comparing the version
 *   BOOT_READ     a host may restart the VNF because a read says ACTIVE(me)
 *   NH, OPS0, OPS, MAXW, NSNAP, MAX<fault>, MAXFAULTS: the bounds below
 */

#ifndef NH
#define NH 2          /* hosts 0..NH-1 (2 or 3) */
#endif
#define OPER NH       /* the operator's reply channel */
#define NOBODY 7

#ifndef OPS
#define OPS 2         /* operations a host starts (writes not counted) */
#endif
#ifndef OPS0
#define OPS0 3        /* ... host 0 */
#endif
#ifndef NSNAP
#define NSNAP 2       /* snapshot ids 1..NSNAP (at most 3) */
#endif
#ifndef MAXW
#define MAXW 1        /* writes to the VNF's state, all hosts together */
#endif
#ifndef MAXCRASH
#define MAXCRASH 1
#endif
#ifndef MAXDROP
#define MAXDROP 1     /* requests lost */
#endif
#ifndef MAXDUP
#define MAXDUP 1      /* requests delivered twice */
#endif
#ifndef MAXRDROP
#define MAXRDROP 1    /* replies lost */
#endif
#ifndef MAXGIVE
#define MAXGIVE 1     /* a host stops waiting while its request is still in flight */
#endif
#ifndef MAXAUTH
#define MAXAUTH 1     /* --allow-rollback given */
#endif
#ifndef MAXFAULTS
#define MAXFAULTS 1   /* faults of all kinds in one run */
#endif
#ifndef QLEN
#define QLEN 3
#endif

#ifdef FIX
#define FIX_FINAL
#define FIX_FENCE
#define FIX_CONFIRM
#endif
#if (defined(FIX_FENCE) || defined(FIX_CONFIRM)) && !defined(FIX_NO_ACTID)
#define ACTID ((me + 1) * 16 + tag + 1)   /* the next request's unique id */
#define ACTIVATED (v_act == id)                /* that CAS is the one that activated */
#else
#define ACTID 0
#define ACTIVATED (v_st == ACT && v_own == me && v_gen == g)
#endif

/* record states */
#define REG 0
#define ACT 1
#define PAU 2
#define STO 3
#define MIG 4

/* request kinds (for the assertions only: the ledger writes the record sent) */
#define K_START   1
#define K_RESTORE 2
#define K_STOP    3
#define K_PAUSE   4
#define K_RESUME  5
#define K_SNAP    6
#define K_BEGIN   7
#define K_COMMIT  8
#define K_ABORT   9   /* migrate abort, recovery rule 1 */
#define K_RELEASE 10
#define K_NOP     11  /* FIX_FENCE: bump the version so a CAS in flight can never apply */

/* results */
#define OK  1
#define REF 2         /* refused: version changed (exit 3) */
#define UNK 3         /* no reply */

/* ---- the ledger record ---- */
byte r_state = REG;
byte r_gen = 0;
byte r_owner = NOBODY;
byte r_target = NOBODY;
byte r_latest = 0;    /* latest snapshot id, 0 = none */
byte r_ver = 0;
bit  r_fin = 0;       /* FIX_FINAL: the latest snapshot is the final state */
byte r_act = 0;       /* FIX_FENCE/FIX_CONFIRM: id of the CAS that last activated */

/* from, tag, expected version, kind, token gen, snapshot, authorized,
 * new state, gen, owner, target, latest, fin, activation id */
chan req = [QLEN] of { byte, byte, byte, byte, byte, byte, bit,
                       byte, byte, byte, byte, byte, bit, byte };
chan rep[NH + 1] = [2] of { byte, byte };   /* tag, result */

/* ---- per host: persisted (survives a crash) unless said otherwise ---- */
byte tok[NH];         /* fencing token's generation, 0 = none (lineage is single) */
bit  exe[NH];         /* volatile: the VNF executes here */
byte jr[NH];          /* pending restore journal: the generation its CAS activates */
byte jv[NH];          /* ... the version that CAS expects (FIX_FENCE) */
byte ja[NH];          /* ... that CAS's activation id (FIX_FENCE) */
byte stg[NH];         /* staging directory: state it holds */
byte bld[NH];         /* snapshot still BUILDING, 0 = none */
byte bv[NH];          /* ... the version its CAS expects (FIX_FENCE) */
byte data[NH];        /* ghost: version of the state in the host's state directory */

/* ---- ghosts and fault budgets ---- */
byte maxgen = 0;      /* highest generation the record ever had */
byte head = 0;        /* newest state written by a host acting on a valid token */
bit  lossok = 0;      /* a loss was authorized: release, or --allow-rollback */
byte relg[NH];        /* generation of the operator's release of the host */
bit  avail[NSNAP + 1];  /* snapshot marked AVAILABLE (only those can be restored) */
bit  erased[NSNAP + 1];
byte sdata[NSNAP + 1];/* state each snapshot holds */
byte nsnap = 0;
byte nw = 0, ndrop = 0, ndup = 0, nrdrop = 0, ncrash = 0, ngive = 0, nauth = 0;

#define NFAULTS (ncrash + ndrop + ndup + nrdrop + ngive)
#define FAULT(n, max) ((n) < (max) && NFAULTS < MAXFAULTS)

#define LIVE(st) ((st) == ACT || (st) == PAU || (st) == MIG)
/* the check on the copy read: this host's token is the ledger's */
#define HOLDS (LIVE(v_st) && v_gen == tok[me] && v_own == me)
#ifdef BUG_NO_FENCE
#define FENCE_OK (tok[me] != 0)          /* token presented, never compared */
#else
#define FENCE_OK HOLDS
#endif
/* on the real record: this host acts on the current token */
#define VALID(h) ((r_state == ACT || r_state == MIG) && r_owner == (h) && r_gen == tok[h])

#ifdef FIX_FINAL
#define SNAPFIN (v_st == STO)                  /* taken while stopped: final */
#define RESTORE_OK (v_st == REG || v_fin || au)
#define RELFIN 1                               /* the operator accepted the loss */
#else
#define SNAPFIN 0
#define RESTORE_OK 1
#define RELFIN 0
#endif

/* ================= the ledger: CAS on version, atomically ================= */
active proctype ledger()
{
	byte f, tg, ev, k, tk, sn, ns, ng, no, nt, nl, na, res;
	bit au, nf;
end_ledger:
	do
	:: atomic {
		req?f, tg, ev, k, tk, sn, au, ns, ng, no, nt, nl, nf, na;
		if
		:: FAULT(ndrop, MAXDROP) -> ndrop++               /* request lost */
		:: true ->
			if
#ifdef BUG_NO_CAS
			:: true ->
#else
			:: ev == r_ver ->
#endif
				/* (b) the generation never decreases */
				assert(ng >= r_gen && ng >= maxgen);
				/* (a) a token-carrying change comes from the live owner at its generation */
				if
				:: tk != 0 -> assert(LIVE(r_state) && r_gen == tk && r_owner == f)
				:: else -> skip
				fi;
				/* (c) no roll-back without authorization */
				if
				:: k == K_RESTORE -> assert(sn == r_latest || au)
				:: else -> skip
				fi;
				/* (d) an interrupted migration ends ACTIVE at the source, same gen,
				 *     or ACTIVE at the target, gen+1 */
				if
				:: k == K_ABORT -> assert(r_state == MIG && ns == ACT && no == r_owner && ng == r_gen)
				:: k == K_COMMIT -> assert(r_state == MIG && ns == ACT && no == r_target && ng == r_gen + 1)
				:: else -> skip
				fi;
				if
				:: k == K_RELEASE && no < NH -> relg[no] = ng; lossok = 1
				:: k == K_RESTORE && au -> lossok = 1
				:: else -> skip
				fi;
				if
				:: ng > maxgen -> maxgen = ng
				:: else -> skip
				fi;
				r_state = ns; r_gen = ng; r_owner = no; r_target = nt;
				r_latest = nl; r_fin = nf; r_act = na; r_ver++;
				res = OK
			:: else -> res = REF
			fi;
			if
			:: FAULT(nrdrop, MAXRDROP) -> nrdrop++        /* reply lost */
			:: nfull(rep[f]) -> rep[f]!tg, res
			:: full(rep[f]) -> skip
			fi;
			if
			:: FAULT(ndup, MAXDUP) && nfull(req) ->        /* delivered again, later */
				ndup++; req!f, tg, ev, k, tk, sn, au, ns, ng, no, nt, nl, nf, na
			:: true -> skip
			fi
		fi;
		f = 0; tg = 0; ev = 0; k = 0; tk = 0; sn = 0; au = 0;
		ns = 0; ng = 0; no = 0; nt = 0; nl = 0; nf = 0; na = 0; res = 0
	}
	od
}

/* ================= host side ================= */
/* A host's check and its request go out in one atomic step: the record only
 * changes when the ledger takes a request, so a change "between read and
 * send" is the same as the request waiting in the channel behind another. */

#define NOGO 255      /* nothing sent: refused by the host-side check */

inline read_rec()
{
	v_st = r_state; v_gen = r_gen; v_own = r_owner; v_tgt = r_target;
	v_lat = r_latest; v_ver = r_ver; v_fin = r_fin; v_act = r_act;
	na = r_act                 /* unchanged unless an activation sets it */
}

inline crashpt()
{
	if
	:: FAULT(ncrash, MAXCRASH) -> ncrash++; goto crashed
	:: true -> skip
	fi
}

/* a full new record, expecting the version read; stale replies are dropped */
inline send(k, tk, sn, a, ns, ng, no, nt, nl, nf)
{
	do
	:: nempty(rep[me]) -> rep[me]?t, res
	:: empty(rep[me]) -> break
	od;
	tag++;
	assert(tag < 16);
	req!me, tag, v_ver, k, tk, sn, a, ns, ng, no, nt, nl, nf, na;
	t = 0; res = 0;
	crashpt()                              /* dies with its request in flight */
}

inline wait_reply()
{
	do
	:: atomic {
		rep[me]?t, res ->
		if
		:: t == tag -> t = 0; break
		:: else -> t = 0                     /* a reply to an older request */
		fi
	   }
	:: atomic { FAULT(ngive, MAXGIVE) -> ngive++; res = UNK; break }  /* stops waiting */
	:: atomic { timeout -> res = UNK; break }
	od
}

#define await() wait_reply()

#ifdef FIX_CONFIRM
/* a refusal may answer a second copy of a request that was applied: re-read */
#define CONFIRM(cond) if :: res == REF -> atomic { read_rec(); if :: cond -> res = OK :: else -> skip fi } :: else -> skip fi
#else
#define CONFIRM(cond) skip
#endif

/* a host that holds a token older than a release of it is fenced */
#define SREL(h) (tok[h] < relg[h])

inline run_me()
{
	if
	:: VALID(me) ->
#ifdef CHECK_STATE
		/* (e) the copy that starts executing on the current token holds
		 *     the newest state, unless a loss was authorized */
		assert(lossok || data[me] == head);
#endif
		head = data[me]; lossok = 0
	:: else -> skip            /* released meanwhile: a fenced copy */
	fi;
	exe[me] = 1
}

/* a token-carrying operation was refused as stale: stop executing */
#define fenced() exe[me] = 0

inline op_start()
{
	atomic {
		read_rec();
		if
		:: v_st == REG || (v_st == STO && v_own == me) ->
			g = v_gen + 1; id = ACTID; na = id;
			send(K_START, 0, 0, 0, ACT, g, me, NOBODY, v_lat, 0)
		:: else -> res = NOGO          /* fork, or its state is elsewhere */
		fi
	}
	if
	:: res != NOGO ->
		await();
		CONFIRM(ACTIVATED);
		if
		:: res == OK -> atomic { crashpt(); tok[me] = g; crashpt(); run_me() }
		:: else -> skip                /* if it applied, rule 3 re-issues the token */
		fi
	:: else -> skip
	fi
}

#ifdef FIX_FINAL
#define AU_USEFUL (s != v_lat || (v_st == STO && !v_fin))
#else
#define AU_USEFUL (s != v_lat)
#endif

inline op_restore()
{
	atomic {
		read_rec();
		if                             /* the latest snapshot, or an older one */
		:: s = v_lat
		:: nsnap > 0 && v_lat != 1 -> s = 1
		:: nsnap > 1 && v_lat != 2 -> s = 2
		:: nsnap > 2 && v_lat != 3 -> s = 3
		fi;
		if
		:: s != 0 && AU_USEFUL && nauth < MAXAUTH -> nauth++; au = 1   /* --allow-rollback */
		:: else -> au = 0
		fi;
		if
		:: s != 0 && avail[s] && (v_st == REG || v_st == STO) && (s == v_lat || au) && RESTORE_OK ->
			g = v_gen + 1; id = ACTID; na = id;
			/* verified completely and staged; the journal row, then the CAS */
			jr[me] = g; jv[me] = v_ver; ja[me] = id; stg[me] = sdata[s];
			crashpt();
			send(K_RESTORE, 0, s, au, ACT, g, me, NOBODY, s, 0)
		:: else -> res = NOGO          /* fork, roll-back, ... */
		fi
	}
	if
	:: res != NOGO ->
		await();
		CONFIRM(ACTIVATED);
		if
		:: res == OK ->
			atomic {
				crashpt(); tok[me] = g;
				crashpt(); data[me] = stg[me]; stg[me] = 0; jr[me] = 0; jv[me] = 0; ja[me] = 0;
				crashpt(); run_me()
			}
		:: res == REF -> atomic { stg[me] = 0; jr[me] = 0; jv[me] = 0; ja[me] = 0 }  /* discard staging */
		:: else -> skip                /* journal kept: rule 2 decides */
		fi
	:: else -> skip
	fi
}

/* stop and pause: the VNF is quiesced, then the ledger records it */
inline op_stop_pause(kind, newst)
{
	atomic {
		read_rec();
		if
		:: FENCE_OK && v_st == ACT ->
			exe[me] = 0;
			send(kind, tok[me], 0, 0, newst, v_gen, me, NOBODY, v_lat, v_fin)
		:: else ->
			if
			:: !HOLDS -> fenced()
			:: else -> skip
			fi;
			res = NOGO
		fi
	}
	if
	:: res != NOGO -> await()
	:: else -> skip
	fi
}

/* resume a paused VNF, or restart one the ledger says runs here (after a
 * crash, or after a stop/pause whose reply never came): a CAS with the token,
 * never a mere read, so a request of ours still in flight cannot land after */
inline op_resume()
{
	atomic {
		read_rec();
		if
		:: FENCE_OK && (v_st == PAU || (v_st == ACT && !exe[me])) ->
			send(K_RESUME, tok[me], 0, 0, ACT, v_gen, me, NOBODY, v_lat, 0)
		:: else ->
			if
			:: !HOLDS -> fenced()
			:: else -> skip
			fi;
			res = NOGO
		fi
	}
	if
	:: res != NOGO ->
		await();
		if
		:: res == OK -> atomic { run_me() }
		:: else -> skip
		fi
	:: else -> skip
	fi
}

inline op_snapshot()
{
	atomic {
		read_rec();
		if
		:: FENCE_OK && (v_st == ACT || v_st == PAU) -> tk = tok[me]   /* of a live VNF */
		:: !exe[me] && v_st == STO && v_own == me -> tk = 0          /* of a stopped one */
		:: else ->
			tk = NOGO;
			if
			:: exe[me] && !HOLDS -> fenced()
			:: else -> skip
			fi
		fi;
		if
		:: tk != NOGO && nsnap < NSNAP ->
			/* the file is published (BUILDING), then the ledger records it */
			nsnap++; s = nsnap; bld[me] = s; bv[me] = v_ver; sdata[s] = data[me];
			crashpt();
			send(K_SNAP, tk, s, 0, v_st, v_gen, v_own, v_tgt, s, SNAPFIN)
		:: else -> res = NOGO
		fi
	}
	if
	:: res != NOGO ->
		await();
		CONFIRM(v_lat == s);
		if
		:: res == OK -> atomic { avail[s] = 1; bld[me] = 0 }  /* AVAILABLE */
		:: res == REF -> atomic { erased[s] = 1; bld[me] = 0 }  /* never counted: FAILED */
		:: else -> skip                                        /* BUILDING: rule 4 */
		fi
	:: else -> skip
	fi
}

/* source me -> target o: begin, quiesce, stream (o verifies and stages the
 * state, journal row on o), commit with the source's token. The source
 * executes again only through op_resume (a CAS with its token) if the record
 * is back to ACTIVE(me); the target through recover (rules 2, 3), then
 * op_resume. */
inline op_migrate()
{
	atomic {
		read_rec();
		if
		:: o = (me + 1) % NH
		:: NH > 2 -> o = (me + 2) % NH
		fi;
		if
		:: HOLDS && v_st == ACT ->
			send(K_BEGIN, tok[me], 0, 0, MIG, v_gen, me, o, v_lat, v_fin)
		:: else ->
			if
			:: !HOLDS -> fenced()
			:: else -> skip
			fi;
			res = NOGO
		fi
	}
	if
	:: res != NOGO ->
		await();
		if
		:: res == OK ->
			atomic {
				exe[me] = 0;                    /* final stop-and-copy */
				crashpt();
				if
				:: jr[o] == 0 ->
					id = ACTID;
					jr[o] = v_gen + 1; jv[o] = v_ver + 1; ja[o] = id; stg[o] = data[me];
					crashpt();
					read_rec();
					if
					:: v_st == MIG && v_own == me && v_tgt == o && v_gen == tok[me] ->
						na = id;
						send(K_COMMIT, tok[me], 0, 0, ACT, v_gen + 1, o, NOBODY, v_lat, 0)
					:: else -> res = NOGO
					fi
				:: else ->                      /* the target is busy: abort */
					read_rec();
					if
					:: v_st == MIG -> send(K_ABORT, 0, 0, 0, ACT, v_gen, v_own, NOBODY, v_lat, v_fin)
					:: else -> res = NOGO
					fi
				fi
			}
			if
			:: res != NOGO -> await()
			:: else -> skip
			fi
		:: else -> skip
		fi
	:: else -> skip
	fi
}

/* vnf recover: the rules of docs/ledger.md, in order */
inline op_recover()
{
	atomic {                                         /* rule 1 */
		read_rec();
		if
		:: v_st == MIG -> send(K_ABORT, 0, 0, 0, ACT, v_gen, v_own, NOBODY, v_lat, v_fin)
		:: else -> res = NOGO
		fi
	}
	if
	:: res != NOGO -> await()
	:: else -> skip
	fi;
#ifdef FIX_FENCE
	/* a pending CAS of a journal row or a BUILDING snapshot expects the
	 * current version: bump it first, so that CAS can never land later */
	atomic {
		read_rec();
		if
		:: (jr[me] != 0 && v_ver == jv[me]) || (bld[me] != 0 && v_ver == bv[me]) ->
			send(K_NOP, 0, 0, 0, v_st, v_gen, v_own, v_tgt, v_lat, v_fin)
		:: else -> res = NOGO
		fi
	}
	if
	:: res != NOGO -> await()
	:: else -> skip
	fi;
#define UNDECIDED(ver) (v_ver == (ver))
/* ... and it knows which CAS activated, not just at which generation */
#ifndef FIX_NO_ACTID
#define JOURNAL_APPLIED (v_act == ja[me])
#else
#define JOURNAL_APPLIED (v_st == ACT && v_own == me && v_gen == jr[me])
#endif
#else
#define UNDECIDED(ver) false
#define JOURNAL_APPLIED (v_st == ACT && v_own == me && v_gen == jr[me])
#endif
	atomic {
		read_rec();
		if                                       /* rule 2 */
		:: jr[me] != 0 && !UNDECIDED(jv[me]) ->
			if
			:: JOURNAL_APPLIED -> data[me] = stg[me]  /* renamed into place */
			:: else -> skip                          /* staging removed */
			fi;
			stg[me] = 0; jr[me] = 0; jv[me] = 0; ja[me] = 0
		:: else -> skip
		fi;
		crashpt();
		if                                       /* rule 3 */
		:: (v_st == ACT || v_st == PAU) && v_own == me && tok[me] != v_gen && jr[me] == 0 ->
			tok[me] = v_gen
		:: else -> skip
		fi;
		if                                       /* rule 4 */
		:: bld[me] != 0 && !UNDECIDED(bv[me]) ->
			if
			:: v_lat == bld[me] -> avail[bld[me]] = 1   /* AVAILABLE */
			:: else -> erased[bld[me]] = 1       /* never counted: keys erased, FAILED */
			fi;
			bld[me] = 0; bv[me] = 0
		:: else -> skip
		fi
	}
}

/* a finished operation keeps nothing of what it read */
inline forget()
{
	d_step {
		v_st = 0; v_gen = 0; v_own = 0; v_tgt = 0; v_lat = 0; v_ver = 0; v_fin = 0;
		v_act = 0; na = 0; id = 0; au = 0; t = 0; res = 0; s = 0; o = 0; g = 0; tk = 0
	}
}

#define MYOPS (me == 0 -> OPS0 : OPS)
#define GO (ops < MYOPS && jr[me] == 0)

proctype host(byte me)
{
	byte v_st, v_gen, v_own, v_tgt, v_lat, v_ver, v_act, na, id;
	bit v_fin, au;
	byte tag, t, res, s, o, g, tk, ops;

end_top:
	/* each operation is offered only when it can do something (or, for a
	 * stale host, be refused and fence it): a refused no-op wastes nothing */
	do
	:: GO && !exe[me] && (r_state == REG || (r_state == STO && r_owner == me)) ->
		ops++; op_start(); forget()
	:: GO && !exe[me] && (r_state == REG || r_state == STO) && nsnap > 0 ->
		ops++; op_restore(); forget()
	:: GO && tok[me] != 0 && (exe[me] || (r_state == ACT && r_owner == me)) ->
		ops++; op_stop_pause(K_STOP, STO); forget()
	:: GO && tok[me] != 0 && (exe[me] || (r_state == ACT && r_owner == me)) ->
		ops++; op_stop_pause(K_PAUSE, PAU); forget()
	:: GO && tok[me] != 0 && !exe[me] && (r_state == PAU || r_state == ACT) && r_owner == me ->
		ops++; op_resume(); forget()
	:: GO && bld[me] == 0 && nsnap < NSNAP && (exe[me] || (r_owner == me && r_state != MIG)) ->
		ops++; op_snapshot(); forget()
	:: GO && exe[me] ->
		ops++; op_migrate(); forget()
	:: ops < MYOPS && (r_state == MIG || jr[me] != 0 || bld[me] != 0 ||
	                 ((r_state == ACT || r_state == PAU) && r_owner == me && tok[me] != r_gen)) ->
		ops++; op_recover(); forget()
#ifdef BOOT_READ
	/* restart because the ledger says ACTIVE(me) at my token: a read only */
	:: !exe[me] && jr[me] == 0 && r_state == ACT && r_owner == me && r_gen == tok[me] ->
		atomic { run_me() }
#endif
	:: exe[me] && nw < MAXW ->                       /* a live effect */
		d_step {
			nw++; data[me]++;
			/* (a) only the holder of the current token acts, or a host the
			 *     operator released that has not yet learnt it */
			assert(VALID(me) || SREL(me));
			if
			:: VALID(me) -> head = data[me]
			:: else -> skip
			fi
		}
	od;
crashed:                                             /* volatile state is lost */
	skip;
	exe[me] = 0;
	forget();
	goto end_top
}

/* the operator: `vnf release` of whoever owns it, at any moment, alive or not */
active proctype operator()
{
	byte me = OPER;
	byte v_st, v_gen, v_own, v_tgt, v_lat, v_ver, v_act, na;
	bit v_fin;
	byte tag, t, res;

	if
	:: atomic {
		read_rec();
		if
		:: v_st == ACT || v_st == PAU ->
			tag++;
			req!me, tag, v_ver, K_RELEASE, 0, 0, 0, STO, v_gen + 1, v_own, NOBODY, v_lat, RELFIN, na
		:: else -> res = NOGO
		fi
	   }
	   if
	   :: res != NOGO -> wait_reply()
	   :: else -> skip
	   fi
	:: true -> skip
	fi
}

/* (d) never two hosts executing, except one the operator released */
#if NH == 2
#define TWO_RUN (exe[0] && exe[1] && !SREL(0) && !SREL(1))
#else
#define TWO_RUN ((exe[0] && exe[1] && !SREL(0) && !SREL(1)) || \
                 (exe[0] && exe[2] && !SREL(0) && !SREL(2)) || \
                 (exe[1] && exe[2] && !SREL(1) && !SREL(2)))
#endif
#ifdef CHECK_STATE
/* (e) the latest snapshot can always be restored */
#define BAD (TWO_RUN || (r_latest != 0 && erased[r_latest]))
#else
#define BAD TWO_RUN
#endif

active proctype monitor()
{
end_mon:
	atomic { BAD -> assert(!BAD) }
}

init
{
	byte i = 0;
	atomic {
		do
		:: i < NH -> run host(i); i++
		:: else -> break
		od
	}
}

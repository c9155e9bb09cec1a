package im

import "encoding/binary"

// Store key schema (raw keys of persist, DESIGN.md "Key schema"). User names,
// group ids and conversation ids contain no '/', so every prefix below is exact.
//
//	c/{conv}                  be64 last seq of the conversation (append_raw counter)
//	x/{conv}/{seq be64}       stored message (envelope JSON without seq)
//	i/{conv}/{user}/{cid}     dedup record: be64 seq, be64 expires-at ms
//	v/{conv}/{user}/d         be64 delivered cursor of user in conv
//	v/{conv}/{user}/r         be64 read cursor of user in conv
//	u/{user}/c/{conv}         conversation index of user (empty value)
//	g/{group}/meta            group meta JSON {name, open, created, creator}
//	g/{group}/m/{user}        member JSON {role, joined, by}
//	g/{group}/j/{user}        be64 seq of the user's latest join notice
//	g/{group}/n               be64 member count (membercount.go)
//	u/{user}/b/{other}        user blocked other: be64 unix ms (block.go)
//	u/{user}/s/{conv}/{f}     user's setting f (m, p, a, n) of conv (settings.go)
const (
	pfxCounter = "c/"
	pfxMsg     = "x/"
	pfxDedup   = "i/"
	pfxCursor  = "v/"
	pfxUser    = "u/"
	pfxGroup   = "g/"
	pfxPresent = "p/" // p/{user}/{node}: the user has a device on that node
)

func counterKey(conv string) []byte { return []byte(pfxCounter + conv) }

func msgPrefix(conv string) []byte { return []byte(pfxMsg + conv + "/") }

func msgKey(conv string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(msgPrefix(conv), seq)
}

func dedupKey(conv, user, cid string) []byte {
	return []byte(pfxDedup + conv + "/" + user + "/" + cid)
}

func deliveredKey(conv, user string) []byte { return []byte(pfxCursor + conv + "/" + user + "/d") }

func readKey(conv, user string) []byte { return []byte(pfxCursor + conv + "/" + user + "/r") }

func userConvPrefix(user string) []byte { return []byte(pfxUser + user + "/c/") }

func userConvKey(user, conv string) []byte { return []byte(pfxUser + user + "/c/" + conv) }

func groupMetaKey(g string) []byte { return []byte(pfxGroup + g + "/meta") }

func memberPrefix(g string) []byte { return []byte(pfxGroup + g + "/m/") }

func memberKey(g, user string) []byte { return []byte(pfxGroup + g + "/m/" + user) }

func joinKey(g, user string) []byte { return []byte(pfxGroup + g + "/j/" + user) }

func memberCountKey(g string) []byte { return []byte(pfxGroup + g + "/n") }

// seqOfMsgKey returns the seq at the end of an x/ key.
func seqOfMsgKey(k []byte) uint64 {
	if len(k) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(k[len(k)-8:])
}

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func presentPrefix(user string) []byte { return []byte(pfxPresent + user + "/") }

func presentKey(user, node string) []byte { return []byte(pfxPresent + user + "/" + node) }

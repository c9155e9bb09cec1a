package im

import (
	"context"
	"fmt"
)

// handleRPC handles im/rpc/{method}: decode, pick the reply topic, run the
// method, respond. Every rpc gets exactly one response.
func (s *Service) handleRPC(ctx context.Context, c Client, r *Request, method string) Outcome {
	req, err := decodeRPC(r.Payload)
	rid := req.RID
	if len(rid) > maxRIDLen || !printable(rid) {
		rid = ""
	}
	if err != nil {
		return s.refuseRPC(c, r, method, rid, err)
	}
	reply, err := replyTopic(c.User, r, req.ReplyTo)
	if err != nil {
		return s.refuseRPC(c, r, method, rid, err)
	}
	result, err := s.callRPC(ctx, c.User, method, &req)
	head := rpcHead{Method: method, RID: rid, OK: err == nil}
	if err != nil {
		out := outcomeOf(err)
		s.logRefusal(c, r.Topic, out, err)
		head.Code, head.Reason = out.Code, out.Reason
		s.rpcRespond(c.User, reply, r.CorrelationData, head, nil)
		return out
	}
	s.rpcRespond(c.User, reply, r.CorrelationData, head, result)
	return Outcome{}
}

// callRPC runs one method for user.
func (s *Service) callRPC(ctx context.Context, user, method string, req *rpcRequest) (any, error) {
	switch method {
	case MethodGroupCreate:
		return s.groupCreate(ctx, user, req)
	case MethodGroupInvite:
		return s.groupInvite(ctx, user, req)
	case MethodGroupJoin:
		return s.groupJoin(ctx, user, req)
	case MethodGroupLeave:
		return s.groupLeave(ctx, user, req)
	case MethodGroupKick:
		return s.groupKick(ctx, user, req)
	case MethodGroupRole:
		return s.groupRole(ctx, user, req)
	case MethodGroupRename:
		return s.groupRename(ctx, user, req)
	case MethodGroupMembers:
		return s.groupMembers(user, req)
	case MethodHistory:
		return s.history(user, req)
	case MethodSync:
		return s.sync(user, req)
	case MethodConversations:
		return s.conversations(user)
	case MethodNotify:
		return s.notify(user, req)
	case MethodBlock:
		return s.block(ctx, user, req)
	case MethodUnblock:
		return s.unblock(ctx, user, req)
	case MethodBlockList:
		return s.blockList(user)
	case MethodConvSet:
		return s.convSet(ctx, user, req)
	case MethodMsgEdit:
		return s.msgEdit(ctx, user, req)
	case MethodMsgRecall:
		return s.msgRecall(ctx, user, req)
	case MethodMsgReact:
		return s.msgReact(ctx, user, req)
	case MethodUpload:
		return s.upload(ctx, user, req)
	case MethodProfileSet:
		return s.profileSet(ctx, user, req)
	case MethodProfileGet:
		return s.profileGet(user, req)
	}
	return nil, fmt.Errorf("%w: unknown method %q", ErrBadTopic, clip(method))
}

%% bench_pingpong_across.erl: the anchors' bench_pingpong.erl with ping and
%% pong bound to different schedulers, so that every message crosses between
%% scheduler threads, as `molt-bench pingpong_across` does.
%%
%% The anchors' program leaves both processes where spawn puts them, on the
%% spawner's scheduler; with two schedulers the BEAM keeps them there (the
%% second scheduler's erlang:statistics(scheduler_wall_time) stays at 0), so
%% its sched=2 line measures one scheduler. Here each process is bound to
%% its scheduler with spawn_opt's {scheduler, N} option (undocumented in
%% OTP 25, but what erts' own tests use), and the line says where each ran:
%% the run fails if they ever share one.
%%
%% Same measurement as bench_pingpong.erl: R round trips timed in batches
%% of B, then 100,000 timed one by one. Run through the anchors' bench.erl:
%%   erl -noshell -pa ebin -run bench main pingpong_across R B
-module(bench_pingpong_across).
-export([run/1]).

run([R, B]) ->
    schedulers_check(),
    Parent = self(),
    Ping = spawn_opt(fun() -> ping_main(Parent, R, B) end, [{scheduler, 1}]),
    receive
        {Ping, ok} -> ok;
        {Ping, {error, Why}} -> erlang:error(Why)
    end.

schedulers_check() ->
    case erlang:system_info(schedulers_online) of
        N when N >= 2 -> ok;
        N -> erlang:error({needs_two_schedulers, N})
    end.

ping_main(Parent, R, B) ->
    Pong = spawn_opt(fun pong/0, [{scheduler, 2}]),
    ping(Pong, 10000),                                   % warm-up
    Batches = [batch(Pong, B) || _ <- lists:seq(1, R div B)],
    Singles = [batch(Pong, 1) || _ <- lists:seq(1, 100000)],
    PingSched = erlang:system_info(scheduler_id),
    Pong ! {self(), where},
    PongSched = receive {sched, S} -> S end,
    Pong ! stop,
    Result =
        case PingSched =/= PongSched of
            true ->
                bench:emit("pingpong_across",
                           [{round_trips, (R div B) * B}, {batch, B},
                            {median_ns_per_rt, bench:median(Batches)},
                            {min_ns_per_rt, lists:min(Batches)},
                            {p99_ns_per_rt, bench:pct(Batches, 99)},
                            {single_rt_median_ns, bench:median(Singles)},
                            {single_rt_p99_ns, bench:pct(Singles, 99)},
                            {ping_sched, PingSched}, {pong_sched, PongSched}]),
                ok;
            false ->
                {error, {same_scheduler, PingSched}}
        end,
    Parent ! {self(), Result}.

%% Mean ns per round trip over K round trips.
batch(Pong, K) ->
    T0 = bench:now_ns(),
    ping(Pong, K),
    (bench:now_ns() - T0) / K.

ping(_Pong, 0) -> ok;
ping(Pong, K) ->
    Pong ! {self(), ping},
    receive pong -> ping(Pong, K - 1) end.

pong() ->
    receive
        {From, ping} -> From ! pong, pong();
        {From, where} -> From ! {sched, erlang:system_info(scheduler_id)}, pong();
        stop -> ok
    end.
